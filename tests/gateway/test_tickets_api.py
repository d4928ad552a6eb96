"""Tickets through the gateway over HTTP, on SQLite and PostgreSQL, watched by a plain
AMQP subscriber."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from services.tickets.events import EVENTS
from tests.harness import wait_until
from tests.problems import problem, problem_fields
from tests.tickets.district import PERSONAL, build, ticket_body
from yilin.events import CloudEventSchema
from yilin.identity import Identity

FLOW = ["ticket.opened", "ticket.assigned", "ticket.started", "ticket.resolved", "ticket.confirmed"]


def test_ticket_lifecycle_over_http_with_events(stack: Any, tap: Any, http: Any) -> None:
    s = stack("registry", "tickets", "gateway")
    events = tap("tickets")
    with s.rpc("registry") as registry:
        district = build(registry)
    api = f"{s.url}/api/v1"

    categories = http.get(f"{api}/ticket-categories", params={"limit": 50}).json()["items"]
    codes = {c["code"] for c in categories}
    assert {
        "utility_bills",
        "blocked_drain",
        "lost_key",
        "neighbour_dispute",
        "elder_home_visit",
        "child_in_difficulty",
        "gig_worker",
        "resident_suggestion",
    } <= codes
    dispute = next(c for c in categories if c["code"] == "neighbour_dispute")
    assert dispute["needs_social_worker"] and dispute["dispute"]

    r = http.post(f"{api}/tickets", json=ticket_body(district))
    assert r.status_code == 201, r.text
    ticket = r.json()
    tid = ticket["id"]
    assert ticket["state"] == "opened" and ticket["allowed_actions"] == ["assign", "cancel", "escalate"]
    assert ticket["resident"]["phone"] == "139****5678" and ticket["recorded_by"] == "test-operator"
    assert ticket["channel"] == "hotline"
    reported = datetime.fromisoformat(ticket["reported_at"])
    assert datetime.fromisoformat(ticket["assign_due_at"]) - reported == timedelta(minutes=120)

    suggestions = http.get(f"{api}/tickets/{tid}/suggestions").json()
    assert suggestions["skill"] == "plumbing"
    assert [t["code"] for t in suggestions["items"]] == ["PRO", "SUN"]  # bigger team first at equal load

    steps = [
        ("assign", {"team_id": district.team["id"], "volunteer_ids": district.members, "note": "派单"}),
        ("start", {}),
        (
            "resolve",
            {
                "volunteers": [
                    {"volunteer_id": district.members[0], "minutes": 50},
                    {"volunteer_id": district.members[1], "minutes": 35},
                ]
            },
        ),
        ("confirm", {"rating": 5, "comment": "师傅很专业"}),
    ]
    for action, body in steps:
        r = http.post(f"{api}/tickets/{tid}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)
    done = r.json()
    assert done["state"] == "confirmed" and done["rating"] == 5 and done["allowed_actions"] == []
    assert {v["volunteer_id"]: v["minutes"] for v in done["volunteers"]} == {
        district.members[0]: 50,
        district.members[1]: 35,
    }
    second = http.get(f"{api}/tickets/{suggestions['items'][0]['team_id']}/suggestions")
    assert second.status_code == 404  # a team id is not a ticket id

    history = http.get(f"{api}/tickets/{tid}/history").json()["items"]
    assert [(h["from_state"], h["to_state"]) for h in history] == [
        (None, "opened"),
        ("opened", "assigned"),
        ("assigned", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "confirmed"),
    ]
    assert history[1]["note"] == "派单" and all(h["actor"] == "test-operator" for h in history)

    for event_type in FLOW:
        [envelope] = events.wait_for(event_type)
        assert CloudEventSchema().validate(envelope) == {}, envelope
        assert envelope["source"] == "urn:yilin:service:tickets" and envelope["dataversion"] == 1
        assert EVENTS.get(event_type).schema().validate(envelope["data"]) == {}
        data = envelope["data"]
        assert (data["ticket_id"], data["community_id"], data["category_code"]) == (
            tid,
            district.community_id,
            "blocked_drain",
        )
    assert [m["routing_key"] for m in events.messages] == FLOW
    assert events.of_type("ticket.assigned")[0]["data"]["volunteer_ids"] == sorted(district.members)
    resolved = events.of_type("ticket.resolved")[0]["data"]
    assert resolved["team_id"] == district.team["id"]
    assert sorted(v["minutes"] for v in resolved["volunteers"]) == [35, 50]
    assert events.of_type("ticket.confirmed")[0]["data"] | {} == {
        "ticket_id": tid,
        "community_id": district.community_id,
        "category_code": "blocked_drain",
        "rating": 5,
        "automatic": False,
    }
    raw = str([m["raw"] for m in events.messages])
    for secret in (*PERSONAL, "139****5678", "resident-1"):
        assert secret not in raw

    report = http.get(f"{api}/tickets/report", params={"community_id": district.community_id}).json()["items"]
    [row] = report
    assert row["category_code"] == "blocked_drain" and row["total"] == 1 and row["by_state"]["confirmed"] == 1
    assert row["mean_rating"] == 5 and row["share_satisfied"] == 1 and row["ratings"] == 1
    assert row["median_minutes_to_assign"] >= 89 and row["sla_breach_rate"] == 0
    assert row["month"] == reported.strftime("%Y-%m")


def test_bad_input_is_refused_and_writes_nothing(stack: Any, tap: Any, http: Any) -> None:
    s = stack("registry", "tickets", "gateway", TICKETS_REOPEN_WINDOW_DAYS=0)
    events = tap("tickets")
    with s.rpc("registry") as registry:
        district = build(registry)
    api = f"{s.url}/api/v1"
    good = ticket_body(district)
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    cases = [
        ({**good, "category_code": "alien_abduction"}, 422, "category_code"),
        ({**good, "attributes": {}}, 422, "attributes"),
        ({**good, "attributes": {"location": "roof"}}, 422, "attributes"),
        ({**good, "attributes": {"location": "kitchen", "colour": "red"}}, 422, "attributes"),
        ({**good, "channel": "pigeon"}, 422, "channel"),
        ({**good, "resident_phone": "12345"}, 422, "resident_phone"),
        ({**good, "reported_at": future}, 422, "reported_at"),
        ({**good, "community_id": "00000000-0000-0000-0000-000000000000"}, 404, "community_id"),
        ({**good, "community_id": district.street_id}, 422, "community_id"),
        ({k: v for k, v in good.items() if k != "resident_name"}, 422, "resident_name"),
    ]
    for body, status, field in cases:
        r = http.post(f"{api}/tickets", json=body)
        assert r.status_code == status, (field, r.text)
        assert field in problem_fields(r), r.text
    assert http.get(f"{api}/tickets").json()["items"] == []

    tid = http.post(f"{api}/tickets", json=good).json()["id"]
    assign = {"team_id": district.team["id"], "volunteer_ids": district.members}
    r = http.post(f"{api}/tickets/{tid}/start", json={})
    assert r.status_code == 409 and problem_fields(r)["allowed"] == ["assign", "cancel", "escalate"]
    assert "allowed: assign, cancel, escalate" in problem(r)["detail"]
    r = http.post(f"{api}/tickets/{tid}/assign", json={**assign, "volunteer_ids": [district.outsider]})
    assert r.status_code == 422 and "volunteer_ids" in problem_fields(r)
    r = http.post(f"{api}/tickets/{tid}/assign", json={**assign, "volunteer_ids": [district.suspended]})
    assert r.status_code == 409 and "suspended" in str(problem_fields(r)["volunteer_ids"])
    r = http.post(f"{api}/tickets/{tid}/assign", json={**assign, "team_id": "00000000-0000-0000-0000-000000000000"})
    assert r.status_code == 404 and "team_id" in problem_fields(r)
    assert http.get(f"{api}/tickets/{tid}").json()["state"] == "opened"
    assert len(http.get(f"{api}/tickets/{tid}/history").json()["items"]) == 1

    for action, body in [("assign", assign), ("start", {})]:
        assert http.post(f"{api}/tickets/{tid}/{action}", json=body).status_code == 200
    m0 = district.members[0]
    for served, field in [
        ([{"volunteer_id": m0, "minutes": 0}], "volunteers"),
        ([{"volunteer_id": m0, "minutes": 12.5}], "volunteers"),
        ([{"volunteer_id": m0, "minutes": 60 * 24 + 1}], "volunteers"),  # more than a day
        ([{"volunteer_id": m0, "minutes": 60 * 24}], "minutes"),
        ([{"volunteer_id": district.outsider, "minutes": 30}], "volunteers"),
    ]:
        r = http.post(f"{api}/tickets/{tid}/resolve", json={"volunteers": served})
        assert r.status_code == 422 and field in problem_fields(r), r.text
    assert http.get(f"{api}/tickets/{tid}").json()["state"] == "in_progress"
    assert (
        http.post(
            f"{api}/tickets/{tid}/resolve", json={"volunteers": [{"volunteer_id": m0, "minutes": 40}]}
        ).status_code
        == 200
    )
    for rating in (0, 6, "5", None):
        r = http.post(f"{api}/tickets/{tid}/confirm", json={"rating": rating})
        assert r.status_code == 422 and "rating" in problem_fields(r), r.text
    # the resident may reopen only inside the window (0 days here)
    r = http.post(f"{api}/tickets/{tid}/reopen", json={})
    assert r.status_code == 409 and "resolved_at" in problem_fields(r)
    with s.rpc("tickets", Identity("someone-else", "resident")) as stranger:
        try:
            stranger.confirm(tid, {"rating": 1})
            raise AssertionError("a stranger confirmed the ticket")
        except Exception as exc:  # noqa: BLE001 - the type is asserted below
            assert type(exc).__name__ == "Forbidden" and "ticket_id" in exc.fields
    ticket = http.get(f"{api}/tickets/{tid}").json()
    assert ticket["state"] == "resolved" and ticket["rating"] is None
    # the list page (one plain read) shows the ticket as its own read does, named volunteers too
    listed = http.get(f"{api}/tickets", params={"community_id": district.community_id}).json()["items"]
    assert [t for t in listed if t["id"] == tid] == [ticket]
    assert {"volunteer_id": m0, "minutes": 40} in ticket["volunteers"]
    wait_until(lambda: len(events.messages) >= 4)
    assert [m["routing_key"] for m in events.messages] == [
        "ticket.opened",
        "ticket.assigned",
        "ticket.started",
        "ticket.resolved",
    ]

    r = http.post(
        f"{api}/ticket-categories",
        json={"code": "lost_key", "name": "x", "skill": "locksmith", "assign_minutes": 10, "resolve_minutes": 60},
    )
    assert r.status_code == 409 and "code" in problem_fields(r)
    r = http.post(
        f"{api}/ticket-categories",
        json={"code": "pet_care", "name": "宠物照看", "skill": "pets", "assign_minutes": 60, "resolve_minutes": 30},
    )
    assert r.status_code == 422 and "resolve_minutes" in problem_fields(r)
    r = http.post(
        f"{api}/ticket-categories",
        json={
            "code": "pet_care",
            "name": "宠物照看",
            "skill": "pets",
            "assign_minutes": 60,
            "resolve_minutes": 600,
            "fields": [{"code": "kind", "label": "Kind", "type": "single_choice"}],
        },
    )
    assert r.status_code == 422 and "fields" in problem_fields(r)
    r = http.post(
        f"{api}/ticket-categories",
        json={
            "code": "pet_care",
            "name": "宠物照看",
            "skill": "pets",
            "assign_minutes": 60,
            "resolve_minutes": 600,
            "fields": [
                {"code": "kind", "label": "Kind", "type": "multi_choice", "choices": ["cat", "dog"], "required": True},
                {"code": "weight", "label": "Weight", "type": "number"},
                {"code": "when", "label": "When", "type": "datetime"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    pet = {**good, "category_code": "pet_care"}
    for answers in (
        {"kind": "cat"},
        {"kind": ["cat", "cow"]},
        {"kind": ["dog"], "weight": "heavy"},
        {"kind": ["dog"], "when": "tomorrow"},
        {"kind": ["dog"], "weight": True},
    ):
        r = http.post(f"{api}/tickets", json={**pet, "attributes": answers})
        assert r.status_code == 422 and "attributes" in problem_fields(r), (answers, r.text)
    r = http.post(
        f"{api}/tickets",
        json={**pet, "attributes": {"kind": ["dog", "cat"], "weight": 4.5, "when": "2026-12-01T09:00:00+08:00"}},
    )
    assert r.status_code == 201, r.text


def test_openapi_lists_ticket_routes_and_health_pings_tickets(stack: Any, http: Any) -> None:
    from openapi_spec_validator import validate

    s = stack("registry", "tickets", "gateway")
    spec = http.get(f"{s.url}/openapi.json").json()
    validate(spec)
    assert {"/api/v1/tickets/{ticket_id}/confirm", "/api/v1/ticket-categories", "/api/v1/tickets/report"} <= set(
        spec["paths"]
    )
    health = http.get(f"{s.url}/health").json()
    assert health["services"]["registry"] == health["services"]["tickets"] == "ok"
