"""Two replicas sweeping one outbox at once publish every event exactly once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import eventlet
from sqlalchemy import create_engine, func, insert, select

from services.registry.events import EVENTS
from services.registry.models import Base
from tests.harness import migrate_service
from yilin.outbox import OutboxRelay


def test_concurrent_sweeps_share_the_backlog_without_duplicates(make_config: Any, pg_url: str, tap: Any) -> None:
    config = make_config(pg_url)
    migrate_service("registry", config)
    outbox = Base.metadata.tables["outbox"]
    engines = [
        create_engine(
            pg_url.replace("postgresql://", "postgresql+psycopg2://"),
            connect_args={"options": "-csearch_path=registry"},
        )
        for _ in range(2)
    ]
    old = datetime.now(timezone.utc) - timedelta(minutes=1)
    envelopes = [
        EVENTS.envelope("team.member_left", {"team_id": str(uuid.uuid4()), "volunteer_id": str(uuid.uuid4())}, None)
        for i in range(300)
    ]
    with engines[0].begin() as conn:
        conn.execute(
            insert(outbox),
            [
                {"id": e.id, "type": e.type, "version": e.version, "message": e.to_message(), "created_at": old}
                for e in envelopes
            ],
        )
    events = tap("registry")
    relays = [OutboxRelay(engine, outbox, config["AMQP_URI"], "registry", grace=0.0, batch=25) for engine in engines]

    def drain(relay: OutboxRelay) -> int:
        total = 0
        while published := relay.sweep():
            total += published
        return total

    threads = [eventlet.spawn(drain, relay) for relay in relays]
    counts = [t.wait() for t in threads]
    assert sum(counts) == 300 and all(counts), counts  # both replicas took a share
    received = events.wait_for("team.member_left", count=300)
    eventlet.sleep(0.5)
    ids = [e["id"] for e in events.of_type("team.member_left")]
    assert len(ids) == 300 and set(ids) == {e.id for e in envelopes}
    with engines[0].connect() as conn:
        assert conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))) == 0
    for engine in engines:
        engine.dispose()
    assert received
