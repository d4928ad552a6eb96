"""The demo loader creates a ticket in every state through the gateway."""

from __future__ import annotations

from typing import Any, Callable

import requests

from services.tickets import demo
from tests.harness import Stack
from tests.tickets.district import build


class Api:
    """The shape the demo runner hands to each service's loader."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def _ok(self, response: requests.Response) -> dict[str, Any]:
        assert response.ok, response.text
        return response.json()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._ok(self.http.get(self.base + path, params=params))

    def post(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.http.post(self.base + path, json=json))

    def patch(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.http.patch(self.base + path, json=json))


def test_demo_has_a_ticket_in_every_state(make_config: Callable[..., dict[str, Any]], container_factory: Any,
                                          pg_url: str) -> None:
    s = Stack.start(("registry", "tickets", "gateway"), make_config(pg_url), container_factory)
    with s.rpc("registry") as registry:
        district = build(registry)
        members = [m["volunteer_id"] for m in registry.team_members(district.team["id"])]
    context = {"communities": [district.community_id], "volunteers": district.members,
               "teams": [{"id": district.team["id"], "community_id": district.community_id,
                          "organisation_id": district.team["organisation_id"], "skills": district.team["skills"],
                          "member_ids": members}]}
    api = Api(s.url)
    result = demo.load(api, context)
    states = {"opened", "assigned", "in_progress", "resolved", "confirmed", "escalated", "cancelled"}
    assert set(result["tickets"]) == states
    for state, ids in result["tickets"].items():
        assert ids
        for ticket_id in ids:
            ticket = api.get(f"/api/v1/tickets/{ticket_id}")
            assert ticket["state"] == state
            if state in ("resolved", "confirmed"):
                assert [v["minutes"] for v in ticket["volunteers"]] == [90]
