"""Dead letters are never dropped and crashes never park a healthy message, against the
real broker: the queue arguments, the migration of an old queue, and ``yilin dlq
replay`` with confirms, ``mandatory`` and a replay limit. The operator commands (``yilin
dlq …``, ``yilin replay``) reach the broker through a failover list as the services do."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from kombu import Connection, Exchange, Queue
from sqlalchemy import MetaData, create_engine, insert

from tests.harness import free_port
from tests.kit import probe
from yilin import deadletters, topology
from yilin.events import Envelope
from yilin.replay import replay
from yilin.tables import define_kit_tables
from yilinctl.cli import main

QUEUE = topology.handler_queue_name("source", "thing.poisoned", "probe", "on_poison")


@pytest.fixture(autouse=True)
def fresh_queues(amqp_uri: str) -> Iterator[None]:
    """The probe's handler queue and DLQ absent before and after: tests share the vhost."""

    def drop() -> None:
        with Connection(amqp_uri) as conn:
            conn.channel().queue_delete(QUEUE)
            conn.channel().queue_delete("probe.dlq")

    drop()
    yield
    drop()


def park(amqp_uri: str, queue: str, body: dict[str, Any], **headers: Any) -> None:
    """Publish ``body`` into the probe's DLQ as the kit parks a failed message."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(
            json.dumps(body).encode(),
            exchange=topology.dead_letter_exchange("probe"),
            routing_key=queue,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=body["id"],
            headers={topology.QUEUE_HEADER: queue, topology.FAILURES_HEADER: topology.FAILURE_LIMIT, **headers},
        )


def depth(amqp_uri: str, queue: str) -> int:
    with Connection(amqp_uri) as conn:
        _, count, _ = conn.default_channel.queue_declare(queue, passive=True)
    return int(count)


def test_handler_queues_dead_letter_at_least_once_with_a_crash_sized_limit() -> None:
    arguments = topology.handler_queue("source", "thing.poisoned", "probe", "on_poison").queue_arguments
    assert arguments["x-dead-letter-strategy"] == "at-least-once"
    assert arguments["x-overflow"] == "reject-publish"
    assert arguments["x-delivery-limit"] >= 50 > topology.FAILURE_LIMIT


def test_a_healthy_message_survives_repeated_consumer_crashes(amqp_uri: str) -> None:
    """Each connection that takes the message and dies without settling it spends a
    quorum delivery attempt (RabbitMQ 3.10); ten of them park nothing."""
    topology.declare(amqp_uri, [probe.ProbeService])
    body = {"id": str(uuid.uuid4())}
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(body, exchange=topology.retry_exchange("probe"), routing_key=QUEUE, serializer="json")
    for _ in range(10):
        with Connection(amqp_uri) as crashing:
            message = Queue(QUEUE, no_declare=True)(crashing.default_channel).get(no_ack=False)
            assert message is not None and message.payload == body
        # the connection closes with the delivery unsettled, as a killed process does
    assert depth(amqp_uri, QUEUE) == 1
    assert depth(amqp_uri, "probe.dlq") == 0


def test_replay_into_a_missing_queue_keeps_the_message_in_the_dlq(amqp_uri: str) -> None:
    topology.declare(amqp_uri, [probe.ProbeService])
    gone = topology.handler_queue_name("source", "thing.retired", "probe", "on_retired")  # no such queue
    kept, moved = {"id": str(uuid.uuid4())}, {"id": str(uuid.uuid4())}
    park(amqp_uri, gone, kept)
    park(amqp_uri, QUEUE, moved)

    result = CliRunner().invoke(main, ["dlq", "replay", "--service", "probe"], env={"YILIN_AMQP_URI": amqp_uri})
    assert result.exit_code == 0, result.output
    assert "replayed 1" in result.output and f"kept 1 (queue_missing): {kept['id']}" in result.output

    assert [d["message_id"] for d in deadletters.peek(amqp_uri, "probe")] == [kept["id"]]
    with Connection(amqp_uri) as conn:
        message = Queue(QUEUE, no_declare=True)(conn.default_channel).get(no_ack=True)
    assert message is not None and json.loads(message.body) == moved
    # a replayed message starts a fresh failure count, and carries how often it was replayed
    assert message.headers[topology.FAILURES_HEADER] == 0
    assert message.headers[deadletters.REPLAYS_HEADER] == 1
    assert deadletters.purge(amqp_uri, "probe") == 1


def test_replay_refuses_a_message_replayed_too_often(amqp_uri: str) -> None:
    topology.declare(amqp_uri, [probe.ProbeService])
    poison = {"id": str(uuid.uuid4())}
    park(amqp_uri, QUEUE, poison, **{deadletters.REPLAYS_HEADER: deadletters.REPLAY_LIMIT})
    done = deadletters.replay(amqp_uri, "probe")
    assert done.replayed == 0 and done.kept == {"replay_limit": [poison["id"]]}
    assert depth(amqp_uri, "probe.dlq") == 1 and depth(amqp_uri, QUEUE) == 0
    assert deadletters.purge(amqp_uri, "probe") == 1


def _old_queue(amqp_uri: str, messages: int) -> None:
    """The handler queue as an older release declared it: other arguments."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        old = Queue(
            QUEUE,
            exchange=Exchange("source.events", type="topic", durable=True),
            routing_key="thing.poisoned",
            durable=True,
            queue_arguments={"x-queue-type": "quorum", "x-delivery-limit": 3, "x-dead-letter-exchange": "probe.dlx"},
        )(channel)
        old.declare()
        producer = conn.Producer(channel)
        for n in range(messages):
            producer.publish({"n": n}, exchange="source.events", routing_key="thing.poisoned", serializer="json")


@pytest.mark.parametrize("messages", [0, 2])
def test_migrate_replaces_an_empty_old_queue_and_refuses_a_full_one(amqp_uri: str, messages: int) -> None:
    _old_queue(amqp_uri, messages)
    if messages:
        with pytest.raises(topology.QueueNotEmpty, match=QUEUE):
            topology.declare(amqp_uri, [probe.ProbeService])
        assert depth(amqp_uri, QUEUE) == messages  # nothing deleted
        return
    assert QUEUE in topology.declare(amqp_uri, [probe.ProbeService])
    # the queue now has the new arguments: declaring them again is accepted
    with Connection(amqp_uri) as conn:
        topology.handler_queue("source", "thing.poisoned", "probe", "on_poison")(conn.channel()).declare()


def _failover(amqp_uri: str) -> str:
    """``amqp_uri`` behind two broker addresses where nothing listens (two nodes of a
    three-node cluster down): kombu's one connect attempt with a retry reaches only the
    second, so a command that does not walk the list fails."""
    vhost = amqp_uri.rsplit("/", 1)[1]
    dead = [f"pyamqp://guest:guest@127.0.0.1:{free_port()}/{vhost}" for _ in range(2)]
    return ";".join([*dead, amqp_uri])


def test_dlq_commands_reach_the_next_broker_of_a_failover_list(amqp_uri: str) -> None:
    topology.declare(amqp_uri, [probe.ProbeService])
    moved, dropped = {"id": str(uuid.uuid4())}, {"id": str(uuid.uuid4())}
    park(amqp_uri, QUEUE, moved)
    env = {"YILIN_AMQP_URI": _failover(amqp_uri)}

    listed = CliRunner().invoke(main, ["dlq", "list", "--service", "probe"], env=env)
    assert listed.exit_code == 0 and moved["id"] in listed.output, listed.output
    result = CliRunner().invoke(main, ["dlq", "replay", "--service", "probe"], env=env)
    assert result.exit_code == 0 and "replayed 1" in result.output, result.output
    with Connection(amqp_uri) as conn:
        message = Queue(QUEUE, no_declare=True)(conn.default_channel).get(no_ack=True)
    assert message is not None and json.loads(message.body) == moved

    park(amqp_uri, QUEUE, dropped)
    assert deadletters.inspect(env["YILIN_AMQP_URI"], "probe", dropped["id"]) is not None
    assert deadletters.depth(env["YILIN_AMQP_URI"], "probe") == 1
    purged = CliRunner().invoke(main, ["dlq", "purge", "--service", "probe", "--yes"], env=env)
    assert purged.exit_code == 0 and "purged 1" in purged.output, purged.output


def test_event_log_replay_reaches_the_next_broker_of_a_failover_list(amqp_uri: str, tmp_path: Any) -> None:
    """``yilin replay`` republishes a source's outbox through a failover list."""
    metadata = MetaData()
    define_kit_tables(metadata)
    database = f"sqlite:///{tmp_path}/{{service}}.db"
    engine = create_engine(database.replace("{service}", "source"))
    metadata.create_all(engine)
    start = datetime.now(timezone.utc)
    events = [
        Envelope(str(uuid.uuid4()), "thing.happened", 1, "source", start + timedelta(seconds=n), None, {"amount": n})
        for n in range(3)
    ]
    with engine.begin() as conn:
        for event in events:
            message = event.to_message()
            conn.execute(
                insert(metadata.tables["outbox"]).values(
                    id=event.id, type=event.type, version=1, message=message, created_at=event.occurred_at
                )
            )
    engine.dispose()
    topology.declare(amqp_uri, [probe.ProbeService])
    target = topology.handler_queue_name("source", "thing.happened", "probe", "on_thing")
    with Connection(amqp_uri) as conn:
        conn.default_channel.queue_purge(target)
    try:
        counts = replay({"AMQP_URI": _failover(amqp_uri), "DATABASE_URL": database}, "source", probe.ProbeService)
        assert counts == {"thing.happened": 3}
        with Connection(amqp_uri) as conn:
            bound = Queue(target, no_declare=True)(conn.default_channel)
            got = [bound.get(no_ack=True) for _ in range(3)]
        assert {m.properties["message_id"] for m in got if m is not None} == {e.id for e in events}
    finally:
        with Connection(amqp_uri) as conn:
            conn.default_channel.queue_purge(target)
