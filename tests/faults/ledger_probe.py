"""A stand-in consumer of the tickets' events with a ledger and no business rules of its
own: nothing but the kit's inbox stands between a redelivery and a double count, so
the fault suite proves the kit itself. ``YILIN_CHAOS_HANDLER_DELAY`` (seconds) holds each
transaction open between its writes, to widen the window a fault can land in."""

from __future__ import annotations

import os

import eventlet
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from yilin.consuming import consumes
from yilin.db import Database, UnitOfWork
from yilin.events import Envelope
from yilin.metrics import Instrumentation
from yilin.tables import define_kit_tables

metadata = MetaData()
define_kit_tables(metadata)
ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(12), nullable=False),
    Column("ticket_id", String(36), nullable=False),
    Column("volunteer_id", String(36)),
    Column("minutes", Integer),
    Column("event_id", String(36)),
)

DELAY = float(os.environ.get("YILIN_CHAOS_HANDLER_DELAY", "0") or 0)


class LedgerProbe:
    name = "ledgerprobe"
    db = Database(metadata)
    metrics = Instrumentation()

    @consumes("tickets", "ticket.resolved")
    def on_ticket_resolved(self, uow: UnitOfWork, event: Envelope) -> None:
        # One row per volunteer, written one by one: a crash between them must leave none.
        for item in event.data["volunteers"]:
            uow.session.execute(
                insert(ledger).values(
                    kind="recorded",
                    ticket_id=event.data["ticket_id"],
                    volunteer_id=item["volunteer_id"],
                    minutes=item["minutes"],
                    event_id=event.id,
                )
            )
            if DELAY:
                eventlet.sleep(DELAY)

    @consumes("tickets", "ticket.confirmed")
    def on_ticket_confirmed(self, uow: UnitOfWork, event: Envelope) -> None:
        if DELAY:
            eventlet.sleep(DELAY)
        uow.session.execute(
            insert(ledger).values(kind="verified", ticket_id=event.data["ticket_id"], event_id=event.id)
        )
