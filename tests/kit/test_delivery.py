"""The kit's delivery guarantees against the real broker, on SQLite and PostgreSQL:
inbox de-duplication, bounded retries into the DLQ, topology declared before consumers,
and the outbox surviving a crash between commit and publish."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from kombu import Connection, Producer
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from tests.harness import ServiceProcess, migrate_service, wait_until
from tests.kit import probe
from yilin import deadletters, metrics, topology
from yilin.config import database_url as resolve_url
from yilin.db import engine_for
from yilin.identity import identity_context, service_account
from yilin.outbox import event_exchange


def envelope(event_type: str, **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "source": "source",
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "correlation_id": "test",
        "data": data,
    }


def publish(amqp_uri: str, body: dict[str, Any]) -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(
            body,
            exchange=event_exchange("source"),
            routing_key=body["type"],
            serializer="json",
            delivery_mode=2,
            declare=[event_exchange("source")],
        )


def probe_engine(config: dict[str, Any]) -> Any:
    engine = engine_for(resolve_url(config, "probe", environ={}), "probe")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql('CREATE SCHEMA IF NOT EXISTS "probe"')
    probe.metadata.create_all(engine)
    return engine


def applied_count(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(probe.applied))


def test_event_published_before_consumer_starts_is_kept_and_applied_once(
    make_config: Any, database_url: str, container_factory: Any
) -> None:
    config = make_config(database_url)
    engine = probe_engine(config)
    topology.declare(config["AMQP_URI"], [probe.ProbeService])  # what `yilin migrate` does
    first = envelope("thing.happened", amount=5)
    publish(config["AMQP_URI"], first)  # no consumer has ever run
    publish(config["AMQP_URI"], first)  # and a redelivery of the same event
    container = container_factory(probe.ProbeService, config)
    container.start()
    wait_until(lambda: applied_count(engine) >= 1, what="the early event applied")
    second = envelope("thing.happened", amount=7)
    publish(config["AMQP_URI"], second)
    wait_until(lambda: applied_count(engine) >= 2, what="the second event applied")
    publish(config["AMQP_URI"], second)
    publish(config["AMQP_URI"], first)
    publish(config["AMQP_URI"], {**envelope("thing.happened", amount=1000), "version": 2})  # not this handler's version
    # Give the duplicates time to arrive; they must change nothing.
    wait_until(
        lambda: _inbox_count(engine) == 2 and _queue_empty(config, "thing.happened", "on_thing"), what="queue drained"
    )
    assert applied_count(engine) == 2
    with engine.connect() as conn:
        total = conn.scalar(select(func.sum(probe.applied.c.amount)))
    assert total == 12


def _inbox_count(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(probe.metadata.tables["inbox"]))


def _queue_empty(config: dict[str, Any], event_type: str, method: str) -> bool:
    name = topology.handler_queue_name("source", event_type, "probe", method)
    with Connection(config["AMQP_URI"]) as conn:
        _, messages, _ = conn.default_channel.queue_declare(name, passive=True)
    return messages == 0


def test_failing_handler_is_retried_then_dead_lettered(
    make_config: Any, database_url: str, container_factory: Any
) -> None:
    config = make_config(database_url)
    probe_engine(config)
    topology.declare(config["AMQP_URI"], [probe.ProbeService])
    container = container_factory(probe.ProbeService, config)
    container.start()
    poison = envelope("thing.poisoned", amount=1)
    publish(config["AMQP_URI"], poison)
    dead = wait_until(lambda: deadletters.peek(config["AMQP_URI"], "probe"), timeout=20, what="a dead letter")
    assert [d["body"]["id"] for d in dead] == [poison["id"]]
    assert dead[0]["queue"] == topology.handler_queue_name("source", "thing.poisoned", "probe", "on_poison")
    assert probe.attempts[poison["id"]] == topology.FAILURE_LIMIT
    assert dead[0]["reason"] == "handler_failed"
    # Replay puts it back on its queue: it fails again and returns to the DLQ, never acked away.
    assert deadletters.replay(config["AMQP_URI"], "probe").replayed == 1
    wait_until(lambda: probe.attempts[poison["id"]] == 2 * topology.FAILURE_LIMIT, timeout=20, what="replayed attempts")
    wait_until(lambda: len(deadletters.peek(config["AMQP_URI"], "probe")) == 1, timeout=20, what="back in the DLQ")
    assert deadletters.purge(config["AMQP_URI"], "probe") == 1
    assert deadletters.peek(config["AMQP_URI"], "probe") == []


def test_backlog_is_applied_in_batches_and_a_poisoned_event_alone_is_dead_lettered(
    make_config: Any, database_url: str, container_factory: Any
) -> None:
    config = make_config(database_url, EVENT_BATCH_SIZE=20)
    engine = probe_engine(config)
    topology.declare(config["AMQP_URI"], [probe.ProbeService])
    events = [
        {**envelope("thing.batched", amount=i, poisoned=(i == 17)), "correlation_id": f"req-{i}"} for i in range(60)
    ]
    poison = events[17]
    for event in events:  # a backlog waiting before the consumer starts
        publish(config["AMQP_URI"], event)
    batches = metrics.EVENT_BATCH_SIZE.labels("probe", "thing.batched")
    before = _histogram(batches)
    container = container_factory(probe.ProbeService, config)
    container.start()
    dead = wait_until(lambda: deadletters.peek(config["AMQP_URI"], "probe"), timeout=30, what="a dead letter")
    wait_until(lambda: _queue_empty(config, "thing.batched", "on_batched"), what="queue drained")

    assert [d["body"]["id"] for d in dead] == [poison["id"]]
    # every delivery fails alone (after failing its batch, when it had company)
    assert topology.FAILURE_LIMIT + 1 <= probe.attempts[poison["id"]] <= 2 * topology.FAILURE_LIMIT
    count, total = (now - then for now, then in zip(_histogram(batches), before))
    assert total == 60 + topology.FAILURE_LIMIT - 1 and count < total, "the backlog was taken in batches"
    with engine.connect() as conn:
        applied = conn.execute(select(probe.applied.c.event_id)).scalars().all()
        audit = conn.execute(
            select(probe.metadata.tables["audit"].c.correlation_id, probe.metadata.tables["audit"].c.entity_ids)
        ).all()
    good = [e for e in events if e is not poison]
    assert sorted(applied) == sorted(e["id"] for e in good), "every good event applied exactly once"
    # one audit row per event, under that event's own correlation id
    assert sorted((row.correlation_id, tuple(row.entity_ids)) for row in audit) == sorted(
        (e["correlation_id"], (e["id"],)) for e in good
    )
    assert deadletters.purge(config["AMQP_URI"], "probe") == 1


def _histogram(histogram: Any) -> tuple[float, float]:
    samples = {s.name: s.value for s in histogram.collect()[0].samples if not s.labels.get("le")}
    return samples[histogram._name + "_count"], samples[histogram._name + "_sum"]


def test_service_killed_between_commit_and_publish_still_delivers(
    amqp_uri: str, pg_url: str, tap: Any, make_config: Any
) -> None:
    config = make_config(pg_url)
    migrate_service("registry", config)
    events = tap("registry")
    doomed = ServiceProcess("registry", amqp_uri, pg_url, YILIN_FAULTS="outbox.after_commit").wait_ready()
    with ServiceRpcProxy(
        "registry", config, context_data=identity_context(config, service_account("test"), "test")
    ) as registry:
        registry.create_organisation.call_async({"code": "ORG-1", "name": "社工站", "kind": "social_work_agency"})
        assert doomed.process.wait(20) == 137  # died right after its commit
    engine = engine_for(resolve_url(config, "registry", environ={}), "registry")
    with engine.connect() as conn:
        unsent = conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE sent_at IS NULL").scalar()
    assert unsent == 1 and events.of_type("organisation.registered") == []

    survivor = ServiceProcess("registry", amqp_uri, pg_url).wait_ready()
    try:
        [event] = events.wait_for("organisation.registered", timeout=20)
        assert event["data"]["code"] == "ORG-1"
        wait_until(
            lambda: engine.connect().exec_driver_sql("SELECT count(*) FROM outbox WHERE sent_at IS NULL").scalar() == 0,
            what="outbox marked sent",
        )
    finally:
        assert survivor.terminate() == 0
