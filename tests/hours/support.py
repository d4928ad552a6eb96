"""Test support for the hours service: envelopes of the events it consumes (built with
small test catalogues, as tickets and the registry would publish them), a plain kombu
publisher, and units of work over a migrated database for domain tests."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from kombu import Connection, Exchange
from marshmallow import Schema, fields
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from services.hours.events import EVENTS
from services.hours.models import Base
from services.registry.events import EVENTS as REGISTRY_EVENTS
from yilin import migrations
from yilin.config import database_url
from yilin.db import UnitOfWork, engine_for
from yilin.events import EventCatalogue, parse_envelope, serializer
from yilin.plainreads import Query, Reader, lent

TICKETS = EventCatalogue("tickets")


class _Volunteer(Schema):
    volunteer_id = fields.String(required=True)
    minutes = fields.Integer(required=True)


@TICKETS.define("ticket.resolved")
class TicketResolved(Schema):
    ticket_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category_code = fields.String(required=True)
    team_id = fields.String(required=True)
    resolved_at = fields.String(required=True)
    volunteers = fields.List(fields.Nested(_Volunteer), required=True)


@TICKETS.define("ticket.confirmed")
class TicketConfirmed(Schema):
    ticket_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category_code = fields.String(required=True)
    rating = fields.Integer(required=True, allow_none=True)
    automatic = fields.Boolean(required=True)


@TICKETS.define("ticket.reopened")
class TicketReopened(Schema):
    ticket_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category_code = fields.String(required=True)


@TICKETS.define("ticket.cancelled")
class TicketCancelled(Schema):
    ticket_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category_code = fields.String(required=True)


def envelope(source: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A valid envelope of a ``tickets`` or ``registry`` event, as JSON."""
    catalogue = TICKETS if source == "tickets" else REGISTRY_EVENTS
    return catalogue.envelope(event_type, data, correlation_id="test-correlation").to_message()


def publish(amqp_uri: str, *messages: dict[str, Any]) -> None:
    """Publish events (CloudEvents, or the first envelope) to ``<source>.events`` with the
    short type as routing key, like any AMQP client, waiting for the broker's confirm of
    each (a test must know its events arrived)."""
    with Connection(amqp_uri, connect_timeout=5, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for message in messages:
            event = parse_envelope(message)
            exchange = Exchange(f"{event.source}.events", type="topic", durable=True)
            producer.publish(
                message,
                exchange=exchange,
                routing_key=event.type,
                serializer=serializer(message),
                declare=[exchange],
                delivery_mode=2,
                retry=True,
            )


def migrate(url: str) -> None:
    migrations.upgrade(
        "hours",
        database_url({"DATABASE_URL": url}, "hours", environ={}),
        Path(__file__).resolve().parents[2] / "services" / "hours" / "migrations",
    )


class Ledger:
    """Domain access to a migrated hours database, without a broker."""

    def __init__(self, url: str) -> None:
        migrate(url)
        self.engine = engine_for(database_url({"DATABASE_URL": url}, "hours", environ={}), "hours")
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info={"metadata": Base.metadata})
        self.events: list[Any] = []

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        uow = UnitOfWork(self.sessions(), EVENTS, "test")
        try:
            yield uow
            uow.session.commit()
            self.events.extend(uow.events)
        except BaseException:
            uow.session.rollback()
            raise
        finally:
            uow.session.close()

    @contextmanager
    def read(self) -> Iterator[Any]:
        session = self.sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def rows(self) -> Any:
        """A connection for compiled queries, as ``db.rows()`` lends one in a worker."""
        return lent(self.engine)

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.type == event_type]


@contextmanager
def statements_run(engine: Any) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block, the plain reads' too (they
    run on the driver's cursor, past the engine's events)."""
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - args are (conn, cursor, statement, …)
    plain = Reader.all

    def recorded(reader: Reader, query: Query, params: Any = None) -> list[Any]:
        statements.append(query.plan(reader.dialect).sql)
        return plain(reader, query, params)

    event.listen(engine, "before_cursor_execute", listener)
    Reader.all = recorded  # type: ignore[method-assign]  # recording, restored below
    try:
        yield statements
    finally:
        Reader.all = plain  # type: ignore[method-assign]  # restored
        event.remove(engine, "before_cursor_execute", listener)
