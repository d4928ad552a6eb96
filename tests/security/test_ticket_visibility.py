"""Each role sees only its own tickets, over HTTP, with a second tenant's ticket beside
the first: volunteers the tickets they are named on (the resident reduced), team leads
their teams', staff their organisation's communities, residents their own. Expected
outcomes are written out per case, not derived from the rules under test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.security.credentials import bearer
from tests.tickets.district import build, id_number, ticket_body


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"  # the rules are above the database; one backend


def test_each_role_sees_only_its_own_tickets(stack: Any, http: Any) -> None:
    s = stack("registry", "tickets", "gateway")
    with s.rpc("registry") as registry:
        d = build(registry)
        organisation = d.team["organisation_id"]
        registry.add_member(d.plain_team["id"], {"volunteer_id": d.outsider, "role": "lead"})
        other_community = registry.create_place(
            {"code": "PD-01-02", "name": "其他社区", "level": "community", "parent_id": d.street_id}
        )["id"]
        other_org = registry.create_organisation({"code": "OTHER", "name": "另一机构", "kind": "social_work_agency"})
        other_team = registry.create_team(
            {
                "code": "OT",
                "name": "他队",
                "organisation_id": other_org["id"],
                "community_id": other_community,
                "skills": ["plumbing"],
            }
        )
        stranger = registry.register_volunteer(
            {"name": "外人", "id_number": id_number(77), "community_id": other_community}
        )["id"]
        registry.add_member(other_team["id"], {"volunteer_id": stranger, "role": "lead"})
    api = f"{s.url}/api/v1"

    def opened(body: dict[str, Any], team: str, volunteers: list[str]) -> str:
        r = http.post(f"{api}/tickets", json=body)
        assert r.status_code == 201, r.text
        assert (
            http.post(
                f"{api}/tickets/{r.json()['id']}/assign", json={"team_id": team, "volunteer_ids": volunteers}
            ).status_code
            == 200
        )
        return r.json()["id"]

    pro = opened(ticket_body(d), d.team["id"], [d.members[0]])  # names member 0 only
    sun = opened(ticket_body(d, resident_id="resident-2"), d.plain_team["id"], [d.members[0]])
    foreign = opened(
        ticket_body(d, community_id=other_community, resident_id="resident-9"), other_team["id"], [stranger]
    )

    # who → the tickets they list (and may open); the rest answer 403 on a direct read
    cases = {
        "operator": (bearer("operator", "op-2"), {pro, sun, foreign}, False),
        "auditor": (bearer("auditor", "au-1"), {pro, sun, foreign}, False),
        "named volunteer": (bearer("volunteer", d.members[0]), {pro, sun}, True),
        "teammate not named": (bearer("volunteer", d.members[1]), set(), True),
        "lead of SUN": (bearer("team_lead", d.outsider), {sun}, True),
        "lead in the other tenant": (bearer("team_lead", stranger), {foreign}, True),
        "org_admin of the agency": (bearer("org_admin", "adm-1", organisation), {pro, sun}, False),
        "social worker of the other org": (bearer("social_worker", "sw-9", other_org["id"]), {foreign}, False),
        "resident 1": (bearer("resident", "resident-1"), {pro}, False),
        "resident 2": (bearer("resident", "resident-2"), {sun}, False),
    }
    for name, (headers, expected, reduced) in cases.items():
        listed = requests.get(f"{api}/tickets", headers=headers, timeout=10)
        assert listed.status_code == 200, (name, listed.text)
        items = listed.json()["items"]
        assert {t["id"] for t in items} == expected, name
        for ticket_id in (pro, sun, foreign):
            r = requests.get(f"{api}/tickets/{ticket_id}", headers=headers, timeout=10)
            assert r.status_code == (200 if ticket_id in expected else 403), (name, ticket_id, r.text)
            if r.status_code == 403:
                assert "张秀英" not in r.text and "犀安路" not in r.text  # nothing of it leaks
            h = requests.get(f"{api}/tickets/{ticket_id}/history", headers=headers, timeout=10)
            assert h.status_code == (200 if ticket_id in expected else 403), (name, "history", h.text)
        for ticket in items:
            if reduced:
                assert ticket["resident"]["id"] is None and ticket["resident"]["name"] == "张**", name
            else:
                assert ticket["resident"]["name"] == "张秀英", name
