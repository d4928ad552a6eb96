"""Two replicas sweeping one outbox at once publish every event exactly once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import eventlet
from eventlet.event import Event
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


def test_the_sweep_leaves_a_publish_in_flight_to_its_confirm(make_config: Any, pg_url: str, tap: Any) -> None:
    """A row older than the grace period whose post-commit publish still waits for its
    confirm (slow under load) is neither sent again nor marked by the sweep; if that
    publish fails, the next sweep sends the row."""
    config = make_config(pg_url)
    migrate_service("registry", config)
    outbox = Base.metadata.tables["outbox"]
    engine = create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg2://"), connect_args={"options": "-csearch_path=registry"}
    )
    events = tap("registry")
    relay = OutboxRelay(engine, outbox, config["AMQP_URI"], "registry", grace=0.0)
    broker_publish = relay.publisher.publish

    def committed() -> Any:  # an event committed a minute ago, its row unsent
        e = EVENTS.envelope("team.member_left", {"team_id": str(uuid.uuid4()), "volunteer_id": str(uuid.uuid4())}, None)
        old = datetime.now(timezone.utc) - timedelta(minutes=1)
        with engine.begin() as conn:
            conn.execute(
                insert(outbox).values(id=e.id, type=e.type, version=e.version, message=e.to_message(), created_at=old)
            )
        return e

    def unsent() -> set[str]:
        with engine.connect() as conn:
            return set(conn.scalars(select(outbox.c.id).where(outbox.c.sent_at.is_(None))))

    def publish_held(envelope: Any, fails: bool) -> None:
        """The relay's publish of ``envelope``, its confirm held back while the sweep runs."""
        gate = Event()

        def held(outgoing: Any) -> None:
            gate.wait()
            if fails:
                raise ConnectionError("the broker went away before confirming")
            broker_publish(outgoing)

        relay.publisher.publish = held  # type: ignore[method-assign]  # the real publish, delayed
        publishing = eventlet.spawn(relay.publish_many, [envelope])
        eventlet.sleep(0)  # under way
        assert relay.sweep() == 0
        assert unsent() == {envelope.id}  # not marked sent while its publish is open
        gate.send()
        try:
            publishing.wait()
        except ConnectionError:
            assert fails
        relay.publisher.publish = broker_publish  # type: ignore[method-assign]

    confirmed = committed()
    publish_held(confirmed, fails=False)
    assert relay.sweep() == 0 and unsent() == set()  # marked, not sent again

    failed = committed()
    publish_held(failed, fails=True)
    assert relay.sweep() == 1 and unsent() == set()  # the sweep sends what the failed publish did not

    events.wait_for("team.member_left", count=2)
    eventlet.sleep(0.5)
    assert sorted(e["id"] for e in events.of_type("team.member_left")) == sorted([confirmed.id, failed.id])
    relay.publisher.close()
    relay.sweep_publisher.close()
    engine.dispose()
