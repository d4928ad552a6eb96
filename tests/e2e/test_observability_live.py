"""Observability of the running platform: every service's live /metrics passes
`promtool check metrics`, a real Prometheus configured like
deploy/prometheus/prometheus.local.yml finds every service up and the business series
after the demo, and one correlation id follows a request from HTTP through RPC and
events into the hours ledger, the audit trails and the JSON logs."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import yaml

from services import METRICS_PORTS
from tests.e2e.conftest import RunningStack
from tests.harness import wait_until
from tests.observability.prometheus_server import PROMETHEUS_DIR, promtool_path, running_prometheus, yilin_job
from yilin.events import CloudEventSchema, routing_key

LOCAL_CONFIG = PROMETHEUS_DIR / "prometheus.local.yml"


def test_promtool_accepts_every_live_metrics_endpoint(running_stack: RunningStack) -> None:
    promtool = promtool_path()
    problems = {}
    for service in running_stack.metrics_ports:
        body = requests.get(running_stack.metrics_url(service), timeout=10).text
        assert f'yilin_service_info{{service="{service}"' in body, body[:2000]
        result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30)
        if result.returncode != 0 or result.stdout.strip() or result.stderr.strip():
            problems[service] = (result.stdout + result.stderr).strip()
    assert problems == {}


def local_targets(stack: RunningStack) -> list[tuple[str, dict[str, str]]]:
    """The `yilin` job's targets of prometheus.local.yml, moved by the stack's port offset."""
    moved = {METRICS_PORTS[service]: port for service, port in stack.metrics_ports.items()}
    targets = []
    for scrape in yaml.safe_load(LOCAL_CONFIG.read_text(encoding="utf-8"))["scrape_configs"]:
        if scrape["job_name"] != "yilin":
            continue
        for static in scrape["static_configs"]:
            for address in static["targets"]:
                host, port = address.rsplit(":", 1)
                targets.append((f"{host}:{moved[int(port)]}", dict(static["labels"])))
    return targets


def value(prom: Any, expr: str) -> float:
    result = prom.query(expr)
    assert result, f"{expr} returned nothing"
    return float(result[0]["value"][1])


def test_prometheus_scrapes_every_service_and_the_business_series(running_stack: RunningStack) -> None:
    targets = local_targets(running_stack)
    assert sorted(labels["service"] for _, labels in targets) == sorted(running_stack.metrics_ports)
    with running_prometheus(targets, job=yilin_job(LOCAL_CONFIG), timeout=30) as prom:
        for service in running_stack.metrics_ports:
            assert value(prom, f'up{{job="yilin",service="{service}"}}') == 1, service
        # the demo has run: each series is there and says so
        assert value(prom, 'sum(yilin_tickets_open{service="tickets"})') > 0
        assert value(prom, 'sum(yilin_ticket_ratings_total{service="tickets"})') >= 1
        seconds = value(prom, 'yilin_volunteer_verified_seconds_total{service="hours"}')
        assert seconds > 0 and seconds % 60 == 0  # whole minutes
        stars = prom.query('yilin_star_levels_reached_total{service="hours"}')
        assert stars or seconds < 100 * 3600, "a volunteer passed the first star's 100 hours without a star"
        assert value(prom, 'yilin_fund_contributions_fen_total{service="fund"}') > 0
        assert value(prom, 'yilin_disbursements_pending{service="fund"}') >= 0
        assert value(prom, 'yilin_fund_pool_balance_fen{service="fund"}') > 0
        published = {r["metric"]["service"] for r in prom.query("yilin_events_published_total > 0")}
        assert {"registry", "tickets", "hours", "fund"} <= published
        handled = {r["metric"]["service"] for r in prom.query('yilin_events_handled_total{outcome="ok"} > 0')}
        assert {"hours"} <= handled
        backlog = {r["metric"]["service"] for r in prom.wait_for("yilin_outbox_backlog", timeout=10)}
        assert {"registry", "tickets", "hours", "fund"} <= backlog
        assert value(prom, 'sum(yilin_http_requests_total{service="gateway",status=~"2.."})') > 0
        rpc = {r["metric"]["service"] for r in prom.query('yilin_rpc_calls_total{outcome="ok"} > 0')}
        assert {"registry", "tickets", "hours", "fund"} <= rpc


@pytest.fixture(scope="module")
def traced(running_stack: RunningStack, amqp_uri: str) -> dict[str, Any]:
    """One ticket taken from opened to confirmed with a caller-chosen correlation id,
    watched by a plain AMQP subscriber on the tickets and hours exchanges."""
    from tests.harness import EventTap

    correlation_id = f"trace-{uuid.uuid4().hex[:16]}"
    api = f"{running_stack.url}/api/v1"
    session = running_stack.session()
    session.headers["X-Correlation-Id"] = correlation_id
    demo = session.get(f"{api}/tickets", params={"state": "assigned"}).json()["items"][0]
    team_id, volunteer_id = demo["team_id"], demo["volunteers"][0]["volunteer_id"]
    tap = EventTap(amqp_uri, ("tickets", "hours"))
    try:
        ticket = session.post(
            f"{api}/tickets",
            json={
                "category_code": "elder_home_visit",
                "community_id": demo["community_id"],
                "channel": "hotline",
                "resident_name": "追踪测试",
                "description": "上门探访",
                "attributes": {"services": ["blood_pressure"]},
                "reported_at": (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat(),
            },
        )
        assert ticket.status_code == 201, ticket.text
        tid = ticket.json()["id"]
        for action, body in [
            ("assign", {"team_id": team_id, "volunteer_ids": [volunteer_id]}),
            ("start", {}),
            ("resolve", {"volunteers": [{"volunteer_id": volunteer_id, "minutes": 45}]}),
            ("confirm", {"rating": 4}),
        ]:
            r = session.post(f"{api}/tickets/{tid}/{action}", json=body)
            assert r.status_code == 200, (action, r.text)
            assert r.headers["X-Correlation-Id"] == correlation_id
        ours = lambda e: e["data"].get("ticket_id") == tid or e["data"].get("source_id") == tid  # noqa: E731 - a one-line callable, named for the reader
        received = lambda: [m["body"] for m in tap.messages]  # noqa: E731 - a one-line callable, named for the reader
        wait_until(
            lambda: (
                {"ticket.resolved", "ticket.confirmed", "hours.recorded", "hours.verified"}
                <= {routing_key(e) for e in received() if ours(e)}
            ),
            timeout=20,
            interval=0.2,
            what="the ticket's and the ledger's events",
        )
        events = received()
    finally:
        tap.close()
    return {"correlation_id": correlation_id, "ticket_id": tid, "volunteer_id": volunteer_id, "events": events}


def test_the_correlation_id_rides_on_every_event_of_the_request(traced: dict[str, Any]) -> None:
    cid = traced["correlation_id"]
    mine = [e for e in traced["events"] if e.get("correlationid") == cid]
    assert all(CloudEventSchema().validate(e) == {} for e in mine)
    types = {routing_key(e) for e in mine}
    assert {"ticket.opened", "ticket.assigned", "ticket.started", "ticket.resolved", "ticket.confirmed"} <= types
    assert {"hours.recorded", "hours.verified"} <= types, types  # inherited by the hours handlers
    assert {e["source"] for e in mine} >= {"urn:yilin:service:tickets", "urn:yilin:service:hours"}
    # every event about this ticket carries it: nothing dropped it on the way
    about = [e for e in traced["events"] if traced["ticket_id"] in json.dumps(e["data"])]
    assert about and all(e.get("correlationid") == cid for e in about), [
        (e["type"], e.get("correlationid")) for e in about
    ]


def test_the_audit_trails_name_the_correlation_id(running_stack: RunningStack, traced: dict[str, Any]) -> None:
    cid = traced["correlation_id"]
    auditor = running_stack.session("auditor")
    trails = {}
    for service in ("tickets", "hours"):
        r = auditor.get(f"{running_stack.url}/api/v1/audit", params={"service": service, "correlation_id": cid})
        assert r.status_code == 200, r.text
        trails[service] = r.json()["items"]
        assert trails[service] and all(row["correlation_id"] == cid for row in trails[service])
    assert {"ticket.resolved", "ticket.confirmed"} <= {a for row in trails["tickets"] for a in row["action"]}
    hours_actions = {a for row in trails["hours"] for a in row["action"]}
    assert {"hours.recorded", "hours.verified"} <= hours_actions, trails["hours"]
    assert all(
        traced["ticket_id"] in row["entity_ids"] or traced["volunteer_id"] in row["entity_ids"]
        for row in trails["hours"]
    )
    assert (
        auditor.get(
            f"{running_stack.url}/api/v1/audit", params={"service": "hours", "correlation_id": "trace-none"}
        ).json()["items"]
        == []
    )


def test_json_logs_follow_the_request(running_stack: RunningStack, traced: dict[str, Any]) -> None:
    cid = traced["correlation_id"]
    lines = [line for line in running_stack.output().splitlines() if cid in line]
    entries = [json.loads(line) for line in lines]  # every line naming the id is one JSON object
    assert entries and all(e["service"] and e["correlation_id"] == cid for e in entries), lines
    access = [e for e in entries if e["logger"] == "yilin.access"]
    assert [(e["method"], e["route"], e["status"]) for e in access] == [
        ("GET", "/api/v1/tickets", 200),
        ("POST", "/api/v1/tickets", 201),
        ("POST", "/api/v1/tickets/{ticket_id}/assign", 200),
        ("POST", "/api/v1/tickets/{ticket_id}/start", 200),
        ("POST", "/api/v1/tickets/{ticket_id}/resolve", 200),
        ("POST", "/api/v1/tickets/{ticket_id}/confirm", 200),
    ]
    assert all(e["service"] == "gateway" and e["level"] == "info" and e["duration_ms"] >= 0 for e in access)
    # the access lines hold the route template, never the ids in the path
    assert not any(traced["ticket_id"] in json.dumps(e) for e in access)

    # the hours ledger applied the ticket's events under the same id, and said what it emitted
    def handled() -> dict[str, list[str]]:
        return {
            e["event_type"]: e["emitted"]
            for e in running_stack.json_logs()
            if e.get("correlation_id") == cid and e.get("service") == "hours" and e.get("event_type")
        }

    wait_until(
        lambda: {"ticket.resolved", "ticket.confirmed"} <= set(handled()),
        timeout=10,
        what="the hours service's log lines",
    )
    assert "hours.recorded" in handled()["ticket.resolved"] and "hours.verified" in handled()["ticket.confirmed"]
