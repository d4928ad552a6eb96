"""Rebuilding the hours ledger from the tickets service's event log (its outbox) into an
empty database reproduces the same totals."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, insert

from services.tickets.events import EVENTS
from tests.faults.stream import StreamPublisher, wait_for
from tests.faults.targets import HOURS, _engine, purge_queues
from tests.harness import ServiceProcess, migrate_service
from yilin.tables import define_kit_tables
from yilinctl.cli import main

pytestmark = pytest.mark.slow

TOTALS = (
    "SELECT volunteer_id, status, count(*), sum(minutes) FROM hours.entries "
    "GROUP BY volunteer_id, status ORDER BY volunteer_id, status"
)


def log_ticket_events(tickets_db: str, count: int) -> list[dict[str, Any]]:
    """Write what the tickets service's outbox holds after ``count`` tickets were resolved
    (and most confirmed): validated envelopes, already marked sent."""
    rng = random.Random(3)
    volunteers = [str(uuid.uuid4()) for _ in range(12)]
    community, team = str(uuid.uuid4()), str(uuid.uuid4())
    start = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)
    envelopes = []
    for index in range(count):
        ticket = str(uuid.uuid4())
        common = {"ticket_id": ticket, "community_id": community, "category_code": "repair.drain"}
        served = rng.sample(volunteers, 2)
        envelopes.append(
            EVENTS.envelope(
                "ticket.resolved",
                {
                    **common,
                    "team_id": team,
                    "resolved_at": start + timedelta(hours=index),
                    "volunteers": [{"volunteer_id": v, "minutes": rng.randint(1, 8) * 15} for v in served],
                },
                "replay-test",
            )
        )
        if index % 5:
            envelopes.append(
                EVENTS.envelope("ticket.confirmed", {**common, "rating": 4, "automatic": False}, "replay-test")
            )
    metadata = MetaData()
    define_kit_tables(metadata)
    engine = _engine(tickets_db)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET search_path TO tickets")
            for n, e in enumerate(envelopes):
                at = e.occurred_at + timedelta(milliseconds=n)  # the log's order
                conn.execute(
                    insert(metadata.tables["outbox"]).values(
                        id=e.id, type=e.type, version=e.version, message=e.to_message(), created_at=at, sent_at=at
                    )
                )
    finally:
        engine.dispose()
    return [e.to_message() for e in envelopes]


def totals(database: str) -> list[tuple[Any, ...]]:
    engine = _engine(database)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(TOTALS)]
    finally:
        engine.dispose()


def inbox(database: str) -> int:
    return HOURS.inbox_stats(database)[1]


def test_hours_ledger_rebuilt_from_the_tickets_event_log(
    amqp_uri: str, pg_url: str, pg_database: str, request: pytest.FixtureRequest
) -> None:
    from tests.conftest import _fresh_pg_database

    config = {"AMQP_URI": amqp_uri, "DATABASE_URL": pg_url}
    migrate_service("tickets", config)
    migrate_service("hours", config)
    purge_queues(amqp_uri, HOURS.cls())
    logged = log_ticket_events(pg_url, 60)

    # The live path: the events as published, into the original hours database.
    live = ServiceProcess("hours", amqp_uri, pg_url).wait_ready(60)
    try:
        publisher = StreamPublisher(amqp_uri)
        for body in logged:
            publisher.publish(body)
        assert wait_for(lambda: inbox(pg_url) == len(logged), 60), inbox(pg_url)
    finally:
        assert live.terminate() == 0
    original = totals(pg_url)
    assert len(original) >= 12 and any(status == "verified" for _, status, _, _ in original)

    # The rebuild: an empty hours database, fed from the tickets outbox by `yilin replay`.
    empty = _fresh_pg_database(pg_database)
    migrate_service("hours", {"AMQP_URI": amqp_uri, "DATABASE_URL": empty})
    rebuilt = ServiceProcess("hours", amqp_uri, empty).wait_ready(60)
    try:
        env = {"YILIN_AMQP_URI": amqp_uri, "YILIN_DATABASE_URL": pg_url}
        result = CliRunner().invoke(main, ["replay", "--from", "tickets", "--to", "hours"], env=env)
        assert result.exit_code == 0, result.output
        assert f'"total": {len(logged)}' in result.output
        assert wait_for(lambda: inbox(empty) == len(logged), 60), inbox(empty)
        # Replaying again changes nothing: the inbox knows every event.
        assert CliRunner().invoke(main, ["replay", "--from", "tickets", "--to", "hours"], env=env).exit_code == 0
        assert wait_for(lambda: HOURS.inbox_stats(empty)[0] >= 0 and _drained(amqp_uri), 30)
    finally:
        assert rebuilt.terminate() == 0
    assert totals(empty) == original


def _drained(amqp_uri: str) -> bool:
    from tests.faults.targets import queue_depths

    return queue_depths(amqp_uri, HOURS.cls()) == 0
