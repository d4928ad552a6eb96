"""The demo loader creates a ticket in every state through the gateway."""

from __future__ import annotations

from typing import Any, Callable

import requests

from services.demo import DemoApi
from services.tickets import demo
from tests.harness import Stack
from tests.tickets.district import build


def test_demo_has_a_ticket_in_every_state(
    make_config: Callable[..., dict[str, Any]], container_factory: Any, pg_url: str, http: requests.Session
) -> None:
    s = Stack.start(("registry", "tickets", "gateway"), make_config(pg_url), container_factory)
    with s.rpc("registry") as registry:
        district = build(registry)
        members = [m["volunteer_id"] for m in registry.team_members(district.team["id"])]
    context = {
        "communities": [district.community_id],
        "volunteers": district.members,
        "teams": [
            {
                "id": district.team["id"],
                "community_id": district.community_id,
                "organisation_id": district.team["organisation_id"],
                "skills": district.team["skills"],
                "member_ids": members,
            }
        ],
    }
    api = DemoApi(s.url, session=http)
    result = demo.load(api, context)
    states = {"opened", "assigned", "in_progress", "resolved", "confirmed", "escalated", "cancelled"}
    assert set(result["tickets"]) == states
    for state, ids in result["tickets"].items():
        assert ids
        for ticket_id in ids:
            ticket = api.get(f"/tickets/{ticket_id}")  # DemoApi adds /api/v1
            assert ticket["state"] == state
            if state in ("resolved", "confirmed"):
                assert [v["minutes"] for v in ticket["volunteers"]] == [90]
