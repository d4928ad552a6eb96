"""A volunteer is edited only by their own organisation: an organisation administrator who
enrols another organisation's volunteer in their team gains no rights over the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from services.gateway.routing import API_PREFIX
from tests.security.credentials import bearer
from tests.security.district import seed


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"  # the rules are above the database; one backend


def test_team_membership_grants_no_edit_rights(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway", RATE_LIMIT_PER_MINUTE=100_000)
    ids = seed(http, s.url)
    api = s.url + API_PREFIX
    admin_a = bearer("org_admin", subject="admin-a", organisation_id=ids["org_a"])
    admin_b = bearer("org_admin", subject="admin-b", organisation_id=ids["org_b"])
    vol_b = ids["volunteer_b"]
    before = http.get(f"{api}/volunteers/{vol_b}").json()
    assert before["organisation_id"] == ids["org_b"]

    joined = requests.post(f"{api}/teams/{ids['team_a']}/members", json={"volunteer_id": vol_b}, headers=admin_a)
    assert joined.status_code == 201, joined.text  # any organisation may enrol them in its team

    for change in ({"name": "改名"}, {"status": "left"}, {"status": "suspended"}, {"skills": []}):
        r = requests.patch(f"{api}/volunteers/{vol_b}", json=change, headers={**admin_a, "If-Match": "*"})
        assert r.status_code == 403, (change, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["status"] == 403
    after = http.get(f"{api}/volunteers/{vol_b}").json()
    assert {k: v for k, v in after.items() if k != "team_ids"} == {k: v for k, v in before.items() if k != "team_ids"}
    assert after["status"] == "active"
    assert sorted(after["team_ids"]) == sorted([ids["team_a"], ids["team_b"]])

    # the volunteer's own organisation still may, and the district's operator
    own = requests.patch(
        f"{api}/volunteers/{vol_b}", json={"status": "suspended"}, headers={**admin_b, "If-Match": "*"}
    )
    assert own.status_code == 200, own.text
    assert (
        http.patch(f"{api}/volunteers/{vol_b}", json={"status": "active"}, headers={"If-Match": "*"}).status_code == 200
    )

    # an administrator registers volunteers for their own organisation only
    body = {"name": "新人", "id_number": "110101199003074514", "community_id": ids["community"]}
    other = requests.post(f"{api}/volunteers", json={**body, "organisation_id": ids["org_b"]}, headers=admin_a)
    assert other.status_code == 403, other.text
    mine = requests.post(f"{api}/volunteers", json=body, headers=admin_a)
    assert mine.status_code == 201, mine.text
    assert mine.json()["organisation_id"] == ids["org_a"]

    trail = requests.get(f"{api}/audit", params={"service": "registry", "limit": 200}, headers=bearer("auditor")).json()
    by_a = [e["entrypoint"] for e in trail["items"] if e["actor_subject"] == "admin-a"]
    assert sorted(by_a) == ["add_member", "register_volunteer"]  # the refused edits left nothing
