"""The operators' tools for what the fault suite leaves behind: ``yilin dlq list /
inspect / replay / purge`` and ``yilin outbox``, through the real command line."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from click.testing import CliRunner
from kombu import Connection
from sqlalchemy import MetaData, insert

from tests.faults.ledger_probe import LedgerProbe
from tests.faults.stream import StreamPublisher, envelope, first_envelope
from tests.faults.targets import _engine, purge_queues
from tests.harness import migrate_service
from yilin import topology
from yilin.events import routing_key
from yilin.tables import define_kit_tables
from yilinctl.cli import main

PROBE = "tests.faults.ledger_probe:LedgerProbe"
RESOLVED_QUEUE = topology.handler_queue_name("tickets", "ticket.resolved", "ledgerprobe", "on_ticket_resolved")


def cli(amqp_uri: str, *args: str, database: str = "") -> Any:
    result = CliRunner().invoke(main, list(args), env={"YILIN_AMQP_URI": amqp_uri, "YILIN_DATABASE_URL": database})
    assert result.exit_code == 0, result.output
    return result.output


def dead_letter(amqp_uri: str, count: int) -> list[dict[str, Any]]:
    """Publish ``count`` events and have the broker dead-letter each (rejected)."""
    topology.declare(amqp_uri, [LedgerProbe])
    purge_queues(amqp_uri, LedgerProbe)
    bodies = [
        # CloudEvents, and the first envelope an older publisher left in the queues
        (envelope if n % 2 == 0 else first_envelope)(
            "ticket.resolved", {"ticket_id": str(uuid.uuid4()), "broken": True}
        )
        for n in range(count)
    ]
    publisher = StreamPublisher(amqp_uri)
    for body in bodies:
        publisher.publish(body)
    with Connection(amqp_uri) as conn:
        queue = topology.handler_queue("tickets", "ticket.resolved", "ledgerprobe", "on_ticket_resolved")(
            conn.default_channel
        )
        for _ in range(count):
            message = queue.get(no_ack=False)
            assert message is not None
            message.reject(requeue=False)
    return bodies


def test_dlq_list_inspect_replay_purge(amqp_uri: str) -> None:
    bodies = dead_letter(amqp_uri, 3)
    listed = [json.loads(line) for line in cli(amqp_uri, "dlq", "list", "--service", "ledgerprobe").splitlines()]
    assert sorted(item["message_id"] for item in listed) == sorted(b["id"] for b in bodies)
    assert {item["queue"] for item in listed} == {RESOLVED_QUEUE}
    assert {item["type"] for item in listed} == {"ticket.resolved"}  # either format: the routing key
    assert sorted(item["body"]["id"] for item in listed) == sorted(b["id"] for b in bodies)

    first = json.loads(cli(amqp_uri, "dlq", "inspect", "--service", "ledgerprobe", bodies[0]["id"]))
    assert first["body"] == bodies[0] and first["properties"]["content_type"] == "application/cloudevents+json"

    shown = json.loads(cli(amqp_uri, "dlq", "inspect", "--service", "ledgerprobe", bodies[1]["id"]))
    assert shown["body"] == bodies[1]
    assert shown["headers"]["x-death"][0]["queue"] == RESOLVED_QUEUE
    assert shown["properties"]["message_id"] == bodies[1]["id"]
    assert shown["routing_key"] == "ticket.resolved"
    missing = CliRunner().invoke(
        main, ["dlq", "inspect", "--service", "ledgerprobe", "nope"], env={"YILIN_AMQP_URI": amqp_uri}
    )
    assert missing.exit_code != 0 and "no message nope" in missing.output
    # inspecting and listing leave every message in place
    assert len(cli(amqp_uri, "dlq", "list", "--service", "ledgerprobe").splitlines()) == 3

    assert cli(amqp_uri, "dlq", "replay", "--service", "ledgerprobe").strip() == "replayed 3"
    with Connection(amqp_uri) as conn:
        _, waiting, _ = conn.default_channel.queue_declare(RESOLVED_QUEUE, passive=True)
    assert waiting == 3  # back on the queue they died in, in their own format
    with Connection(amqp_uri) as conn:
        queue = topology.handler_queue("tickets", "ticket.resolved", "ledgerprobe", "on_ticket_resolved")(
            conn.default_channel
        )
        replayed = [
            queue.get(no_ack=False, accept=["application/cloudevents+json", "application/json"]) for _ in range(3)
        ]
        assert {m.properties["message_id"]: m.content_type for m in replayed} == {
            b["id"]: "application/cloudevents+json" if "specversion" in b else "application/json" for b in bodies
        }
        for message in replayed:
            message.requeue()
    assert cli(amqp_uri, "dlq", "list", "--service", "ledgerprobe") == ""

    purge_queues(amqp_uri, LedgerProbe)
    dead_letter(amqp_uri, 2)
    assert cli(amqp_uri, "dlq", "purge", "--service", "ledgerprobe", "--yes").strip() == "purged 2"
    assert cli(amqp_uri, "dlq", "list", "--service", "ledgerprobe") == ""


def test_outbox_backlog_and_oldest_age(amqp_uri: str, pg_url: str) -> None:
    migrate_service("tickets", {"AMQP_URI": amqp_uri, "DATABASE_URL": pg_url})
    metadata = MetaData()
    define_kit_tables(metadata)
    now = datetime.now(timezone.utc)
    engine = _engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET search_path TO tickets")
            for age, sent in [(120, None), (30, None), (600, now)]:
                body = envelope("ticket.cancelled", {"ticket_id": str(uuid.uuid4())})
                conn.execute(
                    insert(metadata.tables["outbox"]).values(
                        id=body["id"],
                        type=routing_key(body),
                        version=1,
                        message=body,
                        created_at=now - timedelta(seconds=age),
                        sent_at=sent,
                    )
                )
    finally:
        engine.dispose()
    [line] = cli(amqp_uri, "outbox", "tickets", database=pg_url).splitlines()
    shown = json.loads(line)
    assert shown["service"] == "tickets" and shown["unsent"] == 2
    assert 119 <= shown["oldest_age_seconds"] < 300
