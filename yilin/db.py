"""Database access for nameko services on SQLAlchemy 2.

``Database`` is the DependencyProvider: one engine per process and URL, a session per
unit of work. Work happens in ``with self.db.transaction() as uow:``; the block commits
on success and rolls back on error, *inside* the worker, so an RPC reply or an event ack
is only sent after the commit (nameko acks and replies before ``worker_result``, so a
commit there would be too late). Events emitted in the block are written to the outbox
in the same transaction and published right after the commit, and such a change leaves
an audit row (who, when, what, which request) in the same transaction too."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from eventlet import corolocal
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from yilin import audit, faults, tracing, writes
from yilin.bulk import insert_absent_rows, insert_rows
from yilin.config import database_url
from yilin.errors import Conflict
from yilin.events import Envelope, EventCatalogue
from yilin.identity import Identity, caller_of
from yilin.logs import CORRELATION_KEY
from yilin.outbox import OutboxRelay, outbox_row

log = logging.getLogger(__name__)

_engines: dict[tuple[str, str], Engine] = {}
PING_AFTER_IDLE = 1.0  # seconds a read trusts a connection that was just in use


def engine_for(url: str, service: str) -> Engine:
    """The process-wide engine for ``url``.

    SQLite gets a single pooled connection: under eventlet all greenthreads share one OS
    thread, so a second connection waiting on SQLite's file lock would block the very
    thread that holds it; queueing on the pool instead yields cooperatively.
    PostgreSQL keeps each service's tables in a schema named after the service."""
    key = (url, service)
    if key in _engines:
        return _engines[key]
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an error's log line shows the SQL, never the values (names, addresses)
        engine = create_engine(
            url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=120,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    else:
        if parsed.drivername == "postgresql":
            # SQLAlchemy 2.1 defaults to psycopg 3; psycopg2 is the driver eventlet makes cooperative.
            parsed = parsed.set(drivername="postgresql+psycopg2")
        # LIFO: a checkout takes the connection used last, so reads mostly skip the ping.
        # values_plus_batch: a flush's UPDATEs of many rows go in pages, not one round trip each.
        engine = create_engine(
            parsed,
            pool_size=10,
            max_overflow=20,
            pool_timeout=60,
            pool_use_lifo=True,
            executemany_mode="values_plus_batch",
            hide_parameters=True,
            connect_args={"options": f"-csearch_path={service}"},
        )
        _ping_on_checkout(engine)
    _engines[key] = engine
    return engine


_reading = corolocal.local()  # set while a read checks a connection out


def _ping_on_checkout(engine: Engine) -> None:
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
            getattr(_reading, "active", False)
            and checked_in is not None
            and time.monotonic() - checked_in < PING_AFTER_IDLE
        ):
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(str(exc)) from exc  # the pool replaces the connection and tries again


def insert_ignoring_conflicts(session: Session, table: Any) -> Any:
    """An ``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect."""
    factory = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return factory(table).on_conflict_do_nothing()


class UnitOfWork:
    """One transaction: the session for domain changes, and the events announcing them."""

    def __init__(self, session: Session, catalogue: EventCatalogue | None, correlation_id: str | None) -> None:
        self.session = session
        self.catalogue = catalogue
        self.correlation_id = correlation_id
        self.events: list[Envelope] = []
        self.notes: list[tuple[str, dict[str, Any]]] = []
        self._outbox = _table(session, "outbox")
        self._unwritten: list[dict[str, Any]] = []
        # each event's message as its outbox row holds it (JSON text): the published body
        self.bodies: dict[str, str] = {}
        # where each step (one consumed event of a batch) starts: (correlation id, events, notes)
        self._steps: list[tuple[str | None, int, int]] = [(correlation_id, 0, 0)]
        self._after_commit: list[Callable[[], None]] = []
        self._before_commit: list[Callable[[], None]] = []

    def step(self, correlation_id: str | None) -> None:
        """Begin the work of another message in this transaction: what it emits or notes
        is audited under its own ``correlation_id`` and carries that id."""
        self._steps.append((correlation_id, len(self.events), len(self.notes)))
        self.correlation_id = correlation_id

    @property
    def step_events(self) -> list[Envelope]:
        """The events emitted since the current step (the message being handled) began."""
        return self.events[self._steps[-1][1] :]

    def before_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` in this transaction before its outbox rows and commit."""
        self._before_commit.append(callback)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed, e.g. to count a business
        metric that must not be counted for work a retry will redo."""
        self._after_commit.append(callback)

    def steps(self) -> Iterator[tuple[str | None, list[Envelope], list[tuple[str, dict[str, Any]]]]]:
        """Each step's correlation id, events and notes, for the audit trail (steps that
        changed nothing are left out)."""
        bounds = self._steps + [(None, len(self.events), len(self.notes))]
        for (correlation_id, events, notes), (_, events_end, notes_end) in zip(bounds, bounds[1:]):
            if events_end > events or notes_end > notes:
                yield correlation_id, self.events[events:events_end], self.notes[notes:notes_end]

    def note(self, action: str, data: dict[str, Any]) -> None:
        """Record in the audit trail a change that publishes no event (``data``: its ids)."""
        self.notes.append((action, data))

    def emit(self, event_type: str, data: dict[str, Any], version: int | None = None) -> Envelope:
        """Validate an event and add it to the outbox in this transaction."""
        if self.catalogue is None:
            raise RuntimeError("this service publishes no events")
        envelope = self.catalogue.envelope(event_type, data, self.correlation_id, version)
        row = outbox_row(envelope)
        self._unwritten.append(row)
        self.bodies[envelope.id] = row["message"]
        self.events.append(envelope)
        return envelope

    def write_outbox(self) -> None:
        """Insert the emitted events' outbox rows, all in one statement (a batch import
        emits thousands; one round trip each would dominate it). Runs before commit."""
        if self._unwritten:
            rows, self._unwritten = self._unwritten, []
            insert_rows(self.session, self._outbox, rows, serialised=("message",))

    def claim(self, envelopes: list[Envelope]) -> set[str]:
        """Record every envelope as handled in this transaction, in one statement; the
        ids not handled before (the others are duplicates to skip). A concurrent
        duplicate waits on the primary key until the first commits."""
        inbox, now = _table(self.session, "inbox"), datetime.now(timezone.utc)
        rows = list({e.id: {"event_id": e.id, "type": e.type} for e in envelopes}.values())
        if self.session.get_bind().dialect.name == "postgresql":  # one array per column, in the batch's order
            return set(insert_absent_rows(self.session, inbox, rows, {"handled_at": now}, returning="event_id"))
        claim = insert_ignoring_conflicts(self.session, inbox).returning(inbox.c.event_id)
        return set(self.session.execute(claim, [{**row, "handled_at": now} for row in rows]).scalars())


def _conflict(exc: IntegrityError) -> Conflict:
    log.info("integrity conflict: %s", exc.orig)
    return Conflict("the change conflicts with a record that already exists")


def _table(session: Session, name: str) -> Any:
    return session.info["metadata"].tables[name]


class Database(DependencyProvider):
    """A service's database; see the module docstring for how to use it."""

    def __init__(self, metadata: MetaData, catalogue: EventCatalogue | None = None) -> None:
        self.metadata = metadata
        self.catalogue = catalogue

    def setup(self) -> None:
        service = self.container.service_name
        config = self.container.config
        self.engine = engine_for(database_url(config, service), service)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info={"metadata": self.metadata})
        self.relay = OutboxRelay(
            self.engine,
            self.metadata.tables["outbox"],
            config["AMQP_URI"],
            service,
            sweep_interval=float(config.get("OUTBOX_SWEEP_INTERVAL", 2.0)),
            grace=float(config.get("OUTBOX_SWEEP_GRACE", 5.0)),
        )

    def start(self) -> None:
        self.relay.start()

    ready_name = "database"

    def ready_check(self) -> None:
        """The process reaches its database (``SELECT 1``), for ``/readyz`` (yilin.metrics)."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def stop(self) -> None:
        self.relay.stop()

    def kill(self) -> None:
        self.relay.kill()

    def get_dependency(self, worker_ctx: Any) -> "DatabaseAccess":
        identity = caller_of(worker_ctx)
        entrypoint = getattr(worker_ctx.entrypoint, "method_name", None)
        access = DatabaseAccess(self, worker_ctx.data.get(CORRELATION_KEY), identity, entrypoint)
        access.write_key = worker_ctx.data.get(writes.WRITE_KEY)
        return access


class DatabaseAccess:
    """What a worker sees as ``self.db``."""

    def __init__(
        self, provider: Database, correlation_id: str | None, identity: Identity, entrypoint: str | None = None
    ) -> None:
        self.provider = provider
        self.correlation_id = correlation_id
        self.identity = identity
        self.entrypoint = entrypoint

    write_key: str | None = None  # the worker's write key (yilin.writes), if its caller sent one
    _pending: UnitOfWork | None = None  # the open transaction of a write RPC (see once)
    _call: "writes.WriteCall | None" = None

    @contextmanager
    def transaction(self, correlation_id: str | None = None) -> Iterator[UnitOfWork]:
        """Commit on success, roll back on error, then publish the emitted events. Inside
        a write RPC (:meth:`once`) every block joins one transaction, which begins with
        the write's claim and commits with its answer when the method returns."""
        if self._pending is not None:
            yield self._pending
            return
        uow = UnitOfWork(self.provider.sessions(), self.provider.catalogue, correlation_id or self.correlation_id)
        if self._call is not None:
            self._pending = uow
            try:
                writes.claim(uow.session, _table(uow.session, writes.TABLE), self._call, insert_ignoring_conflicts)
            except BaseException:
                self._discard()
                raise
            yield uow  # an error propagates to once, which rolls back
            return
        try:
            yield uow
            self._commit(uow)
        except IntegrityError as exc:
            uow.session.rollback()
            raise _conflict(exc) from None
        except BaseException:
            uow.session.rollback()
            raise
        finally:
            uow.session.close()
        self._published(uow)

    def once(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], run: Callable[[], Any]) -> Any:
        """Run a write RPC's ``run`` at most once per write key (yilin.writes): the first
        answer for a repeated call, else ``run``'s answer committed with its change."""
        call = writes.write_call(
            self.identity.subject, self.write_key, f"{self.provider.container.service_name}.{method}", args, kwargs
        )
        if call is None:
            return run()
        self._call = call
        try:
            answer = run()
            uow = self._pending
            if uow is None:  # changed nothing: nothing to remember either
                return answer
            writes.remember(uow.session, _table(uow.session, writes.TABLE), call, answer)
            self._commit(uow)
            uow.session.close()
            self._pending = None
        except writes.Answered as first:
            return first.answer
        except IntegrityError as exc:
            self._discard()
            raise _conflict(exc) from None
        except BaseException:
            self._discard()
            raise
        finally:
            self._call = None
        faults.point("rpc.after_commit")  # the fault suite's crash between commit and reply
        self._published(uow)
        return answer

    def _commit(self, uow: UnitOfWork) -> None:
        for callback in uow._before_commit:
            callback()
        uow.write_outbox()
        if uow.events or uow.notes:
            audit.record(uow.session, _table(uow.session, "audit"), uow.steps(), self.identity, self.entrypoint)
        with tracing.span("db.commit", **{"yilin.events": len(uow.events)}):
            uow.session.commit()

    def _discard(self) -> None:
        uow, self._pending = self._pending, None
        if uow is not None:
            uow.session.rollback()
            uow.session.close()

    def _published(self, uow: UnitOfWork) -> None:
        for callback in uow._after_commit:
            callback()
        if uow.events:
            faults.point("outbox.after_commit")
            self.provider.relay.publish_committed(uow.events, uow.bodies)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries only; nothing is committed, and writing through it is a
        mistake (on PostgreSQL it runs in autocommit, see below). Inside a write RPC's
        open transaction it is that transaction's session (it sees the write's changes,
        and on SQLite's single connection it could not get another)."""
        if self._pending is not None:
            # Core reads do not autoflush: send the write's ORM changes first, so the read
            # sees them as it would have after the commit outside a write RPC
            self._pending.session.flush()
            yield self._pending.session
            return
        _reading.active = True
        try:
            connection = self.provider.engine.connect()
        finally:
            _reading.active = False
        with connection:
            # Autocommit: no BEGIN and ROLLBACK round trips around a one-statement read; under
            # READ COMMITTED each statement has its own snapshot either way. Set on the driver's
            # connection: SQLAlchemy's isolation_level makes psycopg2 SET on every later switch.
            raw = connection.connection.dbapi_connection if connection.dialect.name == "postgresql" else None
            if raw is not None:
                raw.autocommit = True
            session = self.provider.sessions(bind=connection)
            try:
                yield session
            finally:
                session.close()
                if raw is not None and not raw.closed:
                    raw.autocommit = False
