"""A consumed batch's inbox claims and audit rows, each one set-based statement: the
same rows on both backends and, for the audit, along both of ``insert_rows``'
PostgreSQL paths (``unnest`` for a few steps, ``COPY`` for a full batch)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from yilin import audit
from yilin.bulk import COPY_FROM_ROWS
from yilin.db import UnitOfWork, engine_for
from yilin.events import Envelope
from yilin.identity import Identity
from yilin.tables import define_kit_tables


def _tables(database_url: str) -> tuple[Any, MetaData]:
    engine = engine_for(database_url.format(service="batchrows"), "public")
    metadata = MetaData()
    define_kit_tables(metadata)
    metadata.create_all(engine)
    return engine, metadata


def _event(kind: str = "thing.done", **data: Any) -> Envelope:
    return Envelope(str(uuid.uuid4()), kind, 1, "probe", datetime.now(timezone.utc), f"req-{uuid.uuid4()}", data)


def test_a_batch_claims_each_new_event_once_and_skips_the_handled(database_url: str) -> None:
    engine, metadata = _tables(database_url)
    first, second, third = _event(), _event("thing.undone"), _event()
    try:
        with Session(engine, info={"metadata": metadata}) as session:
            assert UnitOfWork(session, None, None).claim([first, second, first]) == {first.id, second.id}
            session.commit()
        with Session(engine, info={"metadata": metadata}) as session:
            assert UnitOfWork(session, None, None).claim([second, third, first]) == {third.id}
            session.commit()
            rows = {r.event_id: r for r in session.execute(select(metadata.tables["inbox"]))}
        assert set(rows) == {first.id, second.id, third.id} and rows[second.id].type == "thing.undone"
        assert all(r.handled_at is not None for r in rows.values())
    finally:
        metadata.drop_all(engine)


@pytest.mark.parametrize("steps", [3, COPY_FROM_ROWS + 20], ids=["few-steps", "full-batch"])
def test_audit_rows_of_a_batch_name_each_step(database_url: str, steps: int) -> None:
    engine, metadata = _tables(database_url)
    events = [_event(thing_id=str(uuid.uuid4()), note="tab\there") for _ in range(steps)]
    who = Identity("svc:probe", "service", None)
    try:
        with Session(engine, info={"metadata": metadata}) as session:
            trail = [(e.correlation_id, [e], []) for e in events]
            trail[0] = (None, [events[0]], [("thing.noted", {"other_id": "o-1"})])
            audit.record(session, metadata.tables["audit"], trail, who, "on_thing")
            session.commit()
            rows = session.execute(select(metadata.tables["audit"])).mappings().all()
        assert len(rows) == steps and len({r["id"] for r in rows}) == steps
        assert {(r["actor_subject"], r["actor_role"], r["actor_organisation_id"], r["entrypoint"]) for r in rows} == {
            ("svc:probe", "service", None, "on_thing")
        }
        by_event = {r["event_ids"][0]: r for r in rows}
        assert by_event[events[0].id]["correlation_id"] is None
        assert by_event[events[0].id]["action"] == "thing.done,thing.noted"
        assert by_event[events[0].id]["entity_ids"] == [events[0].data["thing_id"], "o-1"]
        for event in events[1:]:
            row = by_event[event.id]
            assert row["correlation_id"] == event.correlation_id and row["action"] == "thing.done"
            assert row["entity_ids"] == [event.data["thing_id"]] and row["event_ids"] == [event.id]
    finally:
        metadata.drop_all(engine)
