"""Ticket events over the real broker: resolved then confirmed tickets become verified
hours with no human step, 100 h crosses 1★, and redelivered envelopes change nothing."""

from __future__ import annotations

import uuid
from typing import Any

from prometheus_client import REGISTRY

from tests.harness import wait_until
from tests.hours.support import envelope, publish


def handled(event_type: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "yilin_events_handled_total", {"service": "hours", "type": event_type, "outcome": outcome}
        )
        or 0.0
    )


def seed_registry(amqp_uri: str, rpc: Any) -> dict[str, str]:
    """The registry's events for one organisation, team and two volunteers."""
    w = {k: str(uuid.uuid4()) for k in ("org", "community", "team", "v1", "v2")}
    publish(
        amqp_uri,
        envelope(
            "registry",
            "organisation.registered",
            {"organisation_id": w["org"], "code": "VOL", "kind": "volunteer_organisation", "community_id": None},
        ),
        envelope(
            "registry",
            "team.created",
            {
                "team_id": w["team"],
                "code": "SUN",
                "organisation_id": w["org"],
                "community_id": w["community"],
                "professional": False,
                "domain": None,
                "skills": [],
            },
        ),
        *[
            envelope(
                "registry",
                "volunteer.registered",
                {
                    "volunteer_id": w[v],
                    "volunteer_number": f"YL{v}",
                    "community_id": w["community"],
                    "skills": [],
                    "certifications": [],
                    "status": "active",
                },
            )
            for v in ("v1", "v2")
        ],
        *[
            envelope("registry", "team.member_joined", {"team_id": w["team"], "volunteer_id": w[v], "role": "member"})
            for v in ("v1", "v2")
        ],
    )
    wait_until(lambda: _known(rpc, w["v1"]) and _known(rpc, w["v2"]), what="volunteers projected")
    return w


def _known(rpc: Any, volunteer_id: str) -> bool:
    try:
        rpc.volunteer_total(volunteer_id)
        return True
    except Exception:  # noqa: BLE001 - NotFound until the projection has it
        return False


def ticket(w: dict[str, str], day: int, minutes: dict[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    ticket_id = str(uuid.uuid4())
    common = {"ticket_id": ticket_id, "community_id": w["community"], "category_code": "drain_blocked"}
    resolved = envelope(
        "tickets",
        "ticket.resolved",
        {
            **common,
            "team_id": w["team"],
            "resolved_at": f"2026-11-{day:02d}T03:00:00Z",
            "volunteers": [{"volunteer_id": w[v], "minutes": m} for v, m in minutes.items()],
        },
    )
    confirmed = envelope("tickets", "ticket.confirmed", {**common, "rating": 5, "automatic": False})
    return resolved, confirmed


def test_resolved_then_confirmed_tickets_verify_hours_and_reach_a_star_once(
    stack: Any, tap: Any, amqp_uri: str
) -> None:
    s = stack("hours")
    events = tap("hours")
    with s.rpc("hours") as rpc:
        w = seed_registry(amqp_uri, rpc)
        # 5 tickets × 20 h for v1 = 100 h exactly (the 1★ threshold); v2 serves 1 h on each
        tickets = [ticket(w, day, {"v1": 1200, "v2": 60}) for day in range(1, 6)]
        seconds_before = (
            REGISTRY.get_sample_value("yilin_volunteer_verified_seconds_total", {"service": "hours"}) or 0.0
        )
        skipped_before = (
            handled("ticket.resolved", "duplicate_skipped"),
            handled("ticket.confirmed", "duplicate_skipped"),
        )
        for resolved, _ in tickets:
            publish(amqp_uri, resolved, resolved)  # the same envelope twice
        recorded = events.wait_for("hours.recorded", 10)
        assert {r["data"]["served_on"] for r in recorded} == {f"2026-11-{d:02d}" for d in range(1, 6)}
        assert all(r["data"]["organisation_id"] == w["org"] and r["data"]["source"] == "ticket" for r in recorded)
        assert rpc.volunteer_total(w["v1"])["pending_minutes"] == 6000
        assert rpc.volunteer_total(w["v1"])["verified_minutes"] == 0

        for _, confirmed in tickets:
            publish(amqp_uri, confirmed, confirmed)
        events.wait_for("hours.verified", 10)
        [star] = events.wait_for("volunteer.star_level_reached")
        wait_until(
            lambda: (
                handled("ticket.resolved", "duplicate_skipped") - skipped_before[0] >= 5
                and handled("ticket.confirmed", "duplicate_skipped") - skipped_before[1] >= 5
            ),
            timeout=30,
            what="every duplicate delivery handled",
        )

        v1, v2 = rpc.volunteer_total(w["v1"]), rpc.volunteer_total(w["v2"])
        assert (v1["verified_minutes"], v1["pending_minutes"], v1["star_level"]) == (6000, 0, 1)
        assert (v2["verified_minutes"], v2["pending_minutes"], v2["star_level"]) == (300, 0, 0)
        assert star["data"] == {"volunteer_id": w["v1"], "level": 1, "previous_level": 0, "verified_minutes": 6000}
        # Publishing is at-least-once (a sweep may resend before the sent-mark lands), so
        # count distinct event ids: each change is announced by exactly one event.
        assert distinct(events, "hours.recorded") == 10 and distinct(events, "hours.verified") == 10
        assert distinct(events, "volunteer.star_level_reached") == 1
        entries = rpc.list_entries({"volunteer_id": w["v1"], "limit": 50})["items"]
        assert len(entries) == 5 and {e["status"] for e in entries} == {"verified"}
        assert {e["decided_by"] for e in entries} == {"tickets:resident-confirmation"}
        board = rpc.leaderboard({"by": "team"})["items"]
        assert board == [{"rank": 1, "id": w["team"], "verified_minutes": 6300, "volunteers": 2}]
        assert REGISTRY.get_sample_value("yilin_star_levels_reached_total", {"service": "hours", "level": "1"}) >= 1
        assert (
            REGISTRY.get_sample_value("yilin_volunteer_verified_seconds_total", {"service": "hours"}) - seconds_before
            == 6300 * 60
        )


def distinct(events: Any, event_type: str) -> int:
    return len({e["id"] for e in events.of_type(event_type)})


def test_reopened_cancelled_and_over_a_day(stack: Any, tap: Any, amqp_uri: str) -> None:
    s = stack("hours")
    events = tap("hours")
    with s.rpc("hours") as rpc:
        w = seed_registry(amqp_uri, rpc)
        resolved, confirmed = ticket(w, 10, {"v1": 90})
        publish(amqp_uri, resolved, confirmed)
        events.wait_for("hours.verified")
        assert rpc.volunteer_total(w["v1"])["verified_minutes"] == 90
        data = {k: resolved["data"][k] for k in ("ticket_id", "community_id", "category_code")}
        publish(amqp_uri, envelope("tickets", "ticket.reopened", data))
        events.wait_for("hours.unverified")
        t = rpc.volunteer_total(w["v1"])
        assert (t["verified_minutes"], t["pending_minutes"]) == (0, 90)
        publish(amqp_uri, envelope("tickets", "ticket.cancelled", data))
        [voided] = events.wait_for("hours.rejected")
        assert voided["data"]["reason_code"] == "ticket_cancelled"
        t = rpc.volunteer_total(w["v1"])
        assert (t["verified_minutes"], t["pending_minutes"]) == (0, 0)

        # more than 24 h in one day cannot be credited: the entry is kept, rejected
        first, _ = ticket(w, 11, {"v2": 1000})
        second, _ = ticket(w, 11, {"v2": 500})
        publish(amqp_uri, first)
        events.wait_for("hours.recorded", 2)
        publish(amqp_uri, second)
        rejected = events.wait_for("hours.rejected", 2)[-1]
        assert rejected["data"]["reason_code"] == "over_daily_limit" and rejected["data"]["volunteer_id"] == w["v2"]
        assert rpc.volunteer_total(w["v2"])["pending_minutes"] == 1000

        # a malformed payload is not applied (retried, then dead-lettered)
        bad = envelope("tickets", "ticket.resolved", {**resolved["data"], "resolved_at": "2026-11-12T03:00:00Z"})
        bad["data"]["volunteers"] = [{"volunteer_id": w["v1"], "minutes": -5}]
        dead_before = handled("ticket.resolved", "dead_lettered")
        publish(amqp_uri, bad)
        wait_until(lambda: handled("ticket.resolved", "dead_lettered") > dead_before, timeout=20, what="dead-lettered")
        assert rpc.volunteer_total(w["v1"])["pending_minutes"] == 0
