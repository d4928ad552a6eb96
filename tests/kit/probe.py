"""A minimal consumer service used to exercise the kit's inbox and dead-lettering."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from yilin.consuming import consumes
from yilin.db import Database, UnitOfWork
from yilin.events import Envelope
from yilin.tables import define_kit_tables

metadata = MetaData()
define_kit_tables(metadata)
applied = Table(
    "applied",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36)),
    Column("amount", Integer),
)

attempts: dict[str, int] = {}


class ProbeService:
    name = "probe"
    db = Database(metadata)

    @consumes("source", "thing.happened")
    def on_thing(self, uow: UnitOfWork, event: Envelope) -> None:
        uow.session.execute(insert(applied).values(event_id=event.id, amount=event.data["amount"]))

    @consumes("source", "thing.batched")
    def on_batched(self, uow: UnitOfWork, event: Envelope) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        uow.session.execute(insert(applied).values(event_id=event.id, amount=event.data["amount"]))
        uow.note("thing.applied", {"thing_id": event.id})
        if event.data.get("poisoned"):
            raise RuntimeError("this event always fails")

    @consumes("source", "thing.poisoned")
    def on_poison(self, uow: UnitOfWork, event: Envelope) -> Any:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        raise RuntimeError("this handler always fails")
