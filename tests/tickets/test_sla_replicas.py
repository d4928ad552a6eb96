"""Two real replicas of the tickets service run the SLA timer against one PostgreSQL
database: every overdue ticket and every dispute is escalated exactly once."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import eventlet
import pytest
import requests

from tests.harness import ServiceProcess, Stack, migrate_service, wait_until
from tests.tickets.district import build, ticket_body

pytestmark = pytest.mark.slow


def metric(process: ServiceProcess, name: str, **labels: str) -> float:
    text = requests.get(f"http://127.0.0.1:{process.metrics_port}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_overdue_and_dispute_tickets_escalate_once_across_replicas(
    make_config: Callable[..., dict[str, Any]], container_factory: Any, pg_url: str, amqp_uri: str, tap: Any
) -> None:
    config = make_config(pg_url)
    migrate_service("tickets", config)
    stack = Stack.start(("registry",), config, container_factory)
    with stack.rpc("registry") as registry:
        district = build(registry)
    events = tap("tickets")
    replicas = [ServiceProcess("tickets", amqp_uri, pg_url, YILIN_TICKETS_SLA_INTERVAL="0.2") for _ in range(2)]
    try:
        for replica in replicas:
            replica.wait_ready()
        long_ago = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat()
        with stack.rpc("tickets") as tickets:
            overdue = [
                tickets.open_ticket(
                    ticket_body(district, category_code="lost_key", attributes={}, reported_at=long_ago)
                )["id"]
                for _ in range(7)
            ]
            disputes = [
                tickets.open_ticket(
                    ticket_body(district, category_code="neighbour_dispute", attributes={"kind": "noise"})
                )["id"]
                for _ in range(2)
            ]
            fresh = tickets.open_ticket(ticket_body(district, reported_at=None))["id"]
        expected = len(overdue) + len(disputes)
        events.wait_for("ticket.escalated", expected, timeout=20)
        eventlet.sleep(1.5)  # several more ticks of both timers
        escalated = events.of_type("ticket.escalated")
        assert len(escalated) == expected
        per_ticket = Counter(e["data"]["ticket_id"] for e in escalated)
        assert set(per_ticket) == {*overdue, *disputes} and set(per_ticket.values()) == {1}
        reasons = {e["data"]["ticket_id"]: e["data"]["reason"] for e in escalated}
        assert {reasons[t] for t in overdue} == {"overdue_assign"}
        assert {reasons[t] for t in disputes} == {"dispute"}

        with stack.rpc("tickets") as tickets:
            assert tickets.get_ticket(fresh)["state"] == "opened"
            for ticket_id in per_ticket:
                steps = tickets.ticket_history(ticket_id)
                assert [s["action"] for s in steps].count("escalate") == 1
                ticket = tickets.get_ticket(ticket_id)
                assert ticket["state"] == "escalated" and ticket["needs_social_worker"]
            # escalated tickets go to a professional team only
            plain = {"team_id": district.plain_team["id"], "volunteer_ids": [district.members[0]]}
            try:
                tickets.assign(overdue[0], plain)
                raise AssertionError("a plain team took an escalated ticket")
            except Exception as exc:  # noqa: BLE001 - the type is asserted below
                assert type(exc).__name__ == "InvalidInput" and "team_id" in exc.fields

        # both replicas ran the timer (each refreshed the gauge); breaches counted once in all
        wait_until(
            lambda: all(
                metric(r, "yilin_tickets_open", service="tickets", state="escalated", category="lost_key") == 7
                for r in replicas
            ),
            timeout=5,
        )
        breaches = sum(
            metric(r, "yilin_ticket_sla_breaches_total", service="tickets", category="lost_key", kind="assign")
            for r in replicas
        )
        assert breaches == 7
        assert sum(metric(r, "yilin_ticket_sla_breaches_total", kind="resolve") for r in replicas) == 0
    finally:
        for replica in replicas:
            replica.terminate()
