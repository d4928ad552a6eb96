"""Attendance from the activities service over the real broker: each attendee's minutes
are recorded against the organising organisation with their clock times; the day rules
of every source apply (no overlap, at most 24 hours a day); an activity announced again
under a new event id records nothing twice; its organiser and its attendees cannot
verify the hours, another verifier of the organisation can."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from services.activities.events import EVENTS as ACTIVITIES
from services.district import LOCAL_TIME
from tests.harness import wait_until
from tests.hours.support import envelope, publish
from yilin.errors import Forbidden
from yilin.identity import Identity

DAY = "2026-11-10"


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{clock}:00").replace(tzinfo=LOCAL_TIME)


def attendance(
    org: str, community: str, spans: dict[str, tuple[str, str]], activity: str | None = None
) -> dict[str, Any]:
    attendees = []
    for volunteer, (start, end) in sorted(spans.items()):
        minutes = int((at(end) - at(start)).total_seconds() // 60)
        attendees.append({"volunteer_id": volunteer, "started_at": at(start), "ended_at": at(end), "minutes": minutes})
    data = {
        "activity_id": activity or str(uuid.uuid4()),
        "organisation_id": org,
        "organiser_id": "organiser-li",
        "community_id": community,
        "title": "困境儿童陪伴",
        "attendees": attendees,
    }
    return ACTIVITIES.envelope("activity.attendance_recorded", data, correlation_id="test").to_message()


def test_attendance_follows_the_day_rules_and_someone_elses_word(stack: Any, tap: Any, amqp_uri: str) -> None:
    s = stack("hours")
    events = tap("hours")
    org, community, v1, v2 = (str(uuid.uuid4()) for _ in range(4))
    ticket_id = str(uuid.uuid4())
    # 20 hours from a ticket on the same day leave v1 four
    publish(
        amqp_uri,
        envelope(
            "tickets",
            "ticket.resolved",
            {
                "ticket_id": ticket_id,
                "community_id": community,
                "category_code": "elder_home_visit",
                "team_id": str(uuid.uuid4()),
                "resolved_at": f"{DAY}T03:00:00Z",
                "volunteers": [{"volunteer_id": v1, "minutes": 1200}],
            },
        ),
    )
    events.wait_for("hours.recorded", 1)
    first = attendance(org, community, {v1: ("09:00", "13:00"), v2: ("09:00", "13:00")})
    publish(amqp_uri, first)
    events.wait_for("hours.recorded", 3)
    again = attendance(org, community, {v1: ("09:00", "13:00")}, activity=first["data"]["activity_id"])
    second = attendance(org, community, {v1: ("14:00", "15:00"), v2: ("12:00", "14:00")})
    publish(amqp_uri, again, second)
    rejected = events.wait_for("hours.rejected", 2)
    assert sorted(r["data"]["reason_code"] for r in rejected) == ["over_daily_limit", "overlap"]

    with s.rpc("hours") as rpc:
        entries = wait_until(
            lambda: (found := rpc.list_entries({"source": "attendance"})["items"]) and len(found) == 4 and found,
            10,
            what="four attendance entries",
        )
    first_entries = [e for e in entries if e["source_id"] == first["data"]["activity_id"]]
    assert sorted((e["volunteer_id"] == v1, e["minutes"], e["start_time"], e["status"]) for e in first_entries) == [
        (False, 240, "09:00", "pending"),
        (True, 240, "09:00", "pending"),
    ]  # once, however often announced
    assert all(e["organisation_id"] == org for e in entries)

    v2_entry = next(e for e in first_entries if e["volunteer_id"] == v2)
    for identity in (Identity("organiser-li", "verifier", org), Identity(v1, "verifier", org)):
        with s.rpc("hours", identity) as rpc, pytest.raises(Forbidden, match="organiser and the attendees"):
            rpc.verify_entry(v2_entry["id"])
    with s.rpc("hours", Identity("verifier-zhou", "verifier", org)) as rpc:
        assert rpc.verify_entry(v2_entry["id"])["status"] == "verified"
