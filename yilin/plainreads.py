"""Hot reads past SQLAlchemy's execution layer and the ORM session.

A read of one statement with a fixed shape (a volunteer by id, a volunteer's total) spent
more CPU in SQLAlchemy than in the driver: ``Connection.execute`` (the statement's cache
key, an execution context, the result object) about 86 µs where the driver's cursor takes
24 µs, and a session around it another 20-35 µs. A :class:`Query` is a Core SELECT
compiled once per dialect by SQLAlchemy itself (its SQL text, parameter order and each
column's type conversions) and run on the driver's cursor; :func:`lent` lends a pooled
connection for it as a :class:`Reader` (``db.rows()`` in a worker, :mod:`yilin.db`).

What the rows hold is what ``Connection.execute`` would hand back (the same bind and
result processors run), and a driver's error is raised as SQLAlchemy raises it (a
:class:`~sqlalchemy.exc.DBAPIError`), a dropped connection invalidating the pool as
SQLAlchemy does, so a read that meets one fails once and the next checkouts reconnect."""

from __future__ import annotations

import time
from collections import namedtuple
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

from eventlet import corolocal
from sqlalchemy import Engine, Select, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError

reading = corolocal.local()  # set while a read checks a connection out (see ping_on_checkout)
PING_AFTER_IDLE = 1.0  # seconds a read trusts a connection that was just in use

Process = Callable[[Any], Any] | None


class Query:
    """``statement`` (a Core SELECT without expanding ``IN`` parameters), compiled on first
    use for each dialect it runs on. Build it once, at import, as the statement."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def plan(self, dialect: Dialect) -> "_Plan":
        """The statement compiled for ``dialect`` (compiled the first time)."""
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _Plan(self.statement, dialect)
        return plan


class _Plan:
    """One dialect's SQL text, how to build its parameters, and how to turn its rows."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.dialect = dialect
        escaped = compiled.escaped_bind_names
        # the name in the SQL → (the caller's key, the statement's own value, whether the
        # caller must give one, the type's conversion)
        binds: dict[str, tuple[str, Any, bool, Process]] = {}
        for bind, name in compiled.bind_names.items():
            if bind.expanding:
                raise ArgumentError(f"a plain read takes no expanding parameter ({bind.key})")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds[escaped.get(name, name)] = (bind.key, bind.effective_value, bind.required, process)
        self.binds = [(name, *bind) for name, bind in binds.items()]
        self.order: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        self.columns = [column for column in statement.selected_columns]
        self.row: Any = namedtuple("Row", list(statement.selected_columns.keys()), rename=True)  # type: ignore[misc]  # keys known only at run time
        self.processors: list[Process] | None = None  # from the first result's column types

    def parameters(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``params`` (by the statement's bind keys)."""
        values: dict[str, Any] = {}
        for name, key, default, required, process in self.binds:
            if key in params:
                value = params[key]
            elif required:
                raise ArgumentError(f"a value is required for the parameter {key!r}")
            else:
                value = default
            values[name] = value if process is None else process(value)
        return values if self.order is None else tuple(values[name] for name in self.order)

    def rows(self, description: Sequence[Any], raw: Sequence[Sequence[Any]]) -> list[Any]:
        """``raw`` rows as named tuples of converted values."""
        if self.processors is None:
            self.processors = [
                column.type.dialect_impl(self.dialect).result_processor(self.dialect, info[1])
                for column, info in zip(self.columns, description)
            ]
        processors, make = self.processors, self.row._make
        if not any(processors):
            return [make(values) for values in raw]
        return [
            make([value if process is None else process(value) for process, value in zip(processors, values)])
            for values in raw
        ]


class Reader:
    """One connection lent for queries only (nothing is committed through it)."""

    def __init__(
        self, connection: Any, dialect: Dialect, on_disconnect: Callable[[BaseException], None] | None = None
    ) -> None:
        self.connection = connection
        self.dialect = dialect
        self._on_disconnect = on_disconnect

    def all(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row of ``query`` with ``params``, as named tuples (columns by their keys)."""
        plan = query.plan(self.dialect)
        cursor = self.connection.cursor()
        try:
            cursor.execute(plan.sql, plan.parameters(params or {}))
            return plan.rows(cursor.description, cursor.fetchall())
        except self.dialect.loaded_dbapi.Error as exc:
            raise self._failed(exc, plan.sql, cursor) from exc
        finally:
            cursor.close()

    def first(self, query: Query, params: Mapping[str, Any] | None = None) -> Any | None:
        """The first row of ``query``, ``None`` when there is none."""
        rows = self.all(query, params)
        return rows[0] if rows else None

    def _failed(self, exc: Any, sql: str, cursor: Any) -> BaseException:
        disconnected = self.dialect.is_disconnect(exc, self.connection, cursor)
        if disconnected and self._on_disconnect is not None:
            self._on_disconnect(exc)
        error: BaseException = DBAPIError.instance(
            sql,
            None,
            exc,
            self.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=disconnected,
            dialect=self.dialect,
        )
        return error


def ping_on_checkout(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, except for reads on a connection back in the pool
    for less than :data:`PING_AFTER_IDLE` seconds. The ping (``SELECT 1``) finds a
    connection the database dropped before a transaction starts on it, at the cost of a
    round trip. A read that meets a dropped connection anyway fails (it changed nothing)
    and invalidates the pool, so the next checkouts connect afresh. Transactions are
    pinged always: a handler's failure costs a redelivery, and a message has only a few."""

    @event.listens_for(engine, "checkin")
    def _stamp(dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get("checked_in")
        if (
            getattr(reading, "active", False)
            and checked_in is not None
            and time.monotonic() - checked_in < PING_AFTER_IDLE
        ):
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(str(exc)) from exc  # the pool replaces the connection and tries again


@contextmanager
def lent(engine: Engine) -> Iterator[Reader]:
    """A pooled connection of ``engine`` as a :class:`Reader`, back to the pool after the
    block. On PostgreSQL its statements run in autocommit: no BEGIN and ROLLBACK round
    trips around a read, and under READ COMMITTED each statement has its own snapshot
    either way."""
    reading.active = True
    try:
        fairy = engine.raw_connection()
    finally:
        reading.active = False
    raw = fairy.dbapi_connection
    postgresql = engine.dialect.name == "postgresql"

    def invalidate(exc: BaseException) -> None:
        # what Connection.execute does on a disconnect (a private method of the pool, with
        # no public spelling): this connection and every one pooled before it are replaced
        # at their next checkout
        engine.pool._invalidate(fairy, exc)

    try:
        if postgresql:
            raw.autocommit = True  # type: ignore[union-attr]  # psycopg2's connection
        yield Reader(raw, engine.dialect, invalidate)
    finally:
        if postgresql and fairy.is_valid and not raw.closed:  # type: ignore[union-attr]  # psycopg2's connection
            raw.autocommit = False  # type: ignore[union-attr]  # the pool's next user expects transactions
        fairy.close()
