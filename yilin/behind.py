"""Writing a transaction's mapped objects with Core statements instead of the ORM flush.

A batch that loads a few hundred rows, changes some and adds a few hundred more spends
much of its CPU in the ORM's unit of work (per-object bookkeeping at every attribute
set and at the flush) and in building the loaded rows' instrumented objects.
:class:`WriteBehind` keeps such rows out of the session: :meth:`WriteBehind.load` reads
them with a Core ``select`` into plain records (one attribute per column, the mapped
class's names, no instrumentation) and remembers their columns; :meth:`WriteBehind.new`
makes a new row's record. Code that reads and sets a mapped object's columns works on a
record unchanged; relationships, the session and ``isinstance`` do not apply. :meth:`WriteBehind.flush` then writes, in one executemany statement per table
and kind: new objects' INSERTs, UPDATEs of the held rows whose columns changed, and
append-only rows (logs). Call it before any query that must see the changes, and before
the commit (``UnitOfWork.before_commit``).

On PostgreSQL each of those is one statement with one array per column, which psycopg2
adapts in C: inserts through :func:`yilin.bulk.insert_rows` (``unnest`` or ``COPY``),
updates as ``UPDATE … FROM unnest(…)``. An executemany would have SQLAlchemy build and
psycopg2 format every row's parameters in Python. :func:`insert_missing` is the same
form for ``INSERT … ON CONFLICT DO NOTHING`` (row locks taken by creating the rows
first)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table, bindparam, inspect, text, update
from sqlalchemy.orm import Session

from yilin.bulk import array_cast, column_arrays, insert_absent_rows, insert_rows
from yilin.db import insert_ignoring_conflicts

T = TypeVar("T")


class _Held:
    """The held rows of one mapped class and the columns watched for changes."""

    def __init__(
        self, model: type, table: Table, columns: tuple[str, ...], on_change: dict[str, Callable[[], Any]]
    ) -> None:
        self.table = table
        (self.key,) = [c.key for c in table.primary_key.columns]
        self.columns = columns
        self.on_change = on_change
        self.rows: dict[Any, tuple[Any, tuple[Any, ...]]] = {}  # primary key → (object, remembered values)
        self.new: list[Any] = []
        self.names = [c.key for c in table.columns]
        # a plain class per mapped class: a record's attributes live in its __dict__
        self.record: type = type(f"{model.__name__}Row", (), {"__doc__": f"A row of {table.name}."})

    def remember(self, obj: Any) -> None:
        self.rows[getattr(obj, self.key)] = (obj, tuple(getattr(obj, c) for c in self.columns))


class WriteBehind:
    """One transaction's objects written through Core; see the module docstring."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._held: dict[type, _Held] = {}
        self._logs: dict[Table, list[dict[str, Any]]] = {}

    def watch(self, model: type, columns: Iterable[str], on_change: dict[str, Callable[[], Any]] | None = None) -> None:
        """Declare ``model``'s mutable ``columns``; ``on_change`` columns get a fresh value
        (e.g. an ``updated_at``) in every changed row."""
        self._held[model] = held = _Held(model, inspect(model).local_table, tuple(columns), dict(on_change or {}))
        self._held[held.record] = held

    def load(self, model: type[T], statement: Select[Any]) -> list[T]:
        """The rows ``statement`` (a ``select`` of ``model``'s table, every column in the
        table's order) returns, as records typed as ``model`` (see the module docstring);
        a row already held comes back as the held record, as the session's identity map
        would give, so changes made to it are kept."""
        held = self._held[model]
        record, names, rows = held.record, held.names, held.rows
        at = names.index(held.key)
        loaded = []
        for row in self.session.execute(statement):
            known = rows.get(row[at])
            if known is None:
                obj = record()
                obj.__dict__.update(zip(names, row))
                held.remember(obj)
                loaded.append(obj)
            else:
                loaded.append(known[0])
        return cast(list[T], loaded)

    def new(self, model: type[T], **values: Any) -> T:
        """A new row's record (columns not given are ``None``: give every value a default
        would), inserted at the next flush with its values then."""
        held = self._held[model]
        obj = held.record()
        obj.__dict__.update(dict.fromkeys(held.names), **values)
        held.new.append(obj)
        return cast(T, obj)

    def held(self, model: type, key: Any) -> Any | None:
        """The held object of ``model`` with primary key ``key``, if any."""
        known = self._held[model].rows.get(key)
        return known[0] if known else None

    def log(self, model: type, row: dict[str, Any]) -> None:
        """An append-only row of ``model``'s table (same keys for every row of a table),
        inserted at the next flush after the objects, in the order logged."""
        self._logs.setdefault(inspect(model).local_table, []).append(row)

    def flush(self) -> None:
        """Write everything added, changed or logged since the last flush."""
        session = self.session
        execute = session.execute
        postgresql = session.get_bind().dialect.name == "postgresql"
        for held in self._held.values():
            if held.new:
                names = held.names
                new, held.new = held.new, []
                insert_rows(session, held.table, [{n: getattr(o, n) for n in names} for o in new])
                for obj in new:
                    held.remember(obj)
        for held in self._held.values():
            changed = []
            for key, (obj, before) in held.rows.items():
                now = tuple(getattr(obj, c) for c in held.columns)
                if now != before:
                    for column, value in held.on_change.items():
                        setattr(obj, column, value())
                    changed.append({"b_key": key, **{c: getattr(obj, c) for c in (*held.columns, *held.on_change)}})
                    held.rows[key] = (obj, now)
            if not changed:
                continue
            if postgresql:
                _update_from_arrays(session, held.table, held.key, changed)
            else:
                execute(update(held.table).where(held.table.c[held.key] == bindparam("b_key")), changed)
        logs, self._logs = self._logs, {}
        for table, rows in logs.items():
            insert_rows(session, table, rows)


def insert_missing(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (mappings with the same keys) into ``table`` unless a row with the
    same key exists (``ON CONFLICT DO NOTHING``), in one statement: on PostgreSQL an
    ``INSERT … SELECT FROM unnest(…)`` with one array per column, elsewhere an
    executemany."""
    if session.get_bind().dialect.name == "postgresql":
        insert_absent_rows(session, table, rows)
    elif rows:
        session.execute(insert_ignoring_conflicts(session, table), rows)


def _update_from_arrays(session: Session, table: Table, key: str, changed: list[dict[str, Any]]) -> None:
    """``changed`` (``b_key`` and the new values, same keys in every row) as one
    ``UPDATE … FROM unnest(…)``."""
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer
    names = [n for n in changed[0] if n != "b_key"]
    columns = [key, *names]
    arrays = ", ".join(array_cast(table.c[n], f"a{i}", dialect) for i, n in enumerate(columns))
    aliases = ", ".join(f"v{i}" for i in range(len(columns)))
    statement = text(
        f"UPDATE {quote.format_table(table)} AS t SET "
        + ", ".join(f"{quote.quote(n)} = v.v{i + 1}" for i, n in enumerate(names))
        + f" FROM unnest({arrays}) AS v({aliases}) WHERE t.{quote.quote(key)} = v.v0"
    )
    rows = [{key: row["b_key"], **{n: row[n] for n in names}} for row in changed]
    session.execute(statement, column_arrays(table, columns, rows, dialect))
