"""The tickets service's step: tickets and residents' voice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from services.district import LOCAL_TIME
from tests.contract.scenario.client import Api, eventually


def tickets_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """Three tickets: one served for 20 hours and confirmed, one resolved, reopened and
    cancelled, one escalated: every tickets event type."""
    team = context["teams"][0]
    served_long, served_short = team["member_ids"][0], team["member_ids"][1]
    now = datetime.now(timezone.utc)

    def open_ticket(code: str, attributes: dict[str, Any], reported_at: datetime) -> str:
        return api.post(
            "/tickets",
            {
                "category_code": code,
                "community_id": team["community_id"],
                "channel": "hotline",
                "resident_name": "王大爷",
                "resident_phone": "13900001234",
                "address": "幸福路1号",
                "description": "scenario",
                "attributes": attributes,
                "reported_at": reported_at.isoformat(),
            },
        )["id"]

    def act(ticket_id: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return api.post(f"/tickets/{ticket_id}/{action}", body or {})

    # Reported 21 hours ago, so 20 hours served fit in the time the ticket was open; the
    # category's cap on one volunteer's credit is raised to allow them (an audited change).
    categories = api.get("/ticket-categories", {"limit": 50})["items"]
    [visits] = [c for c in categories if c["code"] == "elder_home_visit"]
    api.patch(f"/ticket-categories/{visits['id']}", {"max_credit_minutes": 1200})
    visit = open_ticket("elder_home_visit", {"services": ["blood_pressure"]}, now - timedelta(hours=21))
    act(visit, "assign", {"team_id": team["id"], "volunteer_ids": [served_long]})
    act(visit, "start")
    act(visit, "resolve", {"volunteers": [{"volunteer_id": served_long, "minutes": 1200}]})
    act(visit, "confirm", {"rating": 5})

    drain = open_ticket("blocked_drain", {"location": "kitchen"}, now - timedelta(hours=1))
    act(drain, "assign", {"team_id": team["id"], "volunteer_ids": [served_short]})
    act(drain, "start")
    act(drain, "resolve", {"volunteers": [{"volunteer_id": served_short, "minutes": 30}]})
    act(drain, "reopen", {"note": "still blocked"})
    act(drain, "cancel", {"note": "the resident called a plumber"})

    # A client in the district sends local time; events still carry UTC.
    dispute = open_ticket("neighbour_dispute", {"kind": "noise"}, now.astimezone(LOCAL_TIME))
    act(dispute, "escalate", {"note": "needs a social worker"})

    # A partner's own work: no volunteer named, so no hours (ticket.assigned_to_partner, .resolved_by_partner).
    lock = open_ticket("lost_key", {}, now - timedelta(minutes=30))
    act(lock, "assign", {"partner_id": context["partner"]})
    act(lock, "start")
    act(lock, "resolve", {"volunteers": []})
    voice = _voice(api, team["community_id"], served_long, visit)
    return {
        **voice,
        "tickets": {"confirmed": [visit], "cancelled": [drain], "escalated": [dispute], "resolved": [lock]},
        "served_long": served_long,
        "served_short": served_short,
    }


def _voice(api: Api, community: str, social_worker: str, ticket: str) -> dict[str, Any]:
    """Residents' voice: suggestions collected, merged, answered, linked to a ticket and
    one left to pass its deadline (the stack runs with ``CONFIG``); a mediation case
    opened and closed."""

    def collect(content: str) -> str:
        body = {
            "community_id": community,
            "topic": "parking",
            "channel": "door_to_door",
            "content": content,
            "resident": {"name": "王大爷", "phone": "13900001234"},
        }
        return str(api.post("/suggestions", body)["id"])

    first, repeat, late = collect("停车难"), collect("车位不够"), collect("路灯坏了")
    api.post(f"/suggestions/{repeat}/merge", {"into_id": first})
    api.post(f"/suggestions/{first}/answer", {"answer": "将划设停车位"})
    api.post(f"/suggestions/{first}/links", {"kind": "ticket", "target_id": ticket})
    eventually(lambda: api.get(f"/suggestions/{late}")["escalated_at"], "the unanswered suggestion to escalate")
    case = api.post(
        "/mediation-cases",
        {
            "community_id": community,
            "social_worker_id": social_worker,
            "summary": "scenario",
            "parties": [{"name": "刘先生"}, {"name": "楼下住户", "people": 5}],
        },
    )
    api.post(
        f"/mediation-cases/{case['id']}/close",
        {"outcome": "agreement", "satisfaction": [{"party": 1, "rating": 5}, {"party": 2, "rating": 4}]},
    )
    return {"suggestions": [first, repeat, late], "mediation_cases": [case["id"]]}
