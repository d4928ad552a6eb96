"""Role × route.

For every operation of the published API (docs/openapi.json) and every role, a caller of
that role gets 403 exactly when the hand-written list ``tests/security/route_matrix.py``
(written from the documented rules, importing nothing from ``services/*/permissions.py``)
leaves the role out, never 401 with valid credentials, and 401 without any; an operation
missing from the list fails the test. Ownership with two tenants' real objects is
``test_tenant_matrix.py``; the registry's object-level rules (docs/security.md) are here."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from services import SERVICES
from services.gateway.routing import API_PREFIX
from services.roles import ROLES
from tests.security.credentials import API_KEYS, as_role, bearer
from tests.security.district import id_number, seed
from tests.security.route_matrix import ANY, MATRIX, PUBLIC
from yilin.errors import Forbidden
from yilin.identity import Identity

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"  # the rules are above the database; one backend


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of the published document, by (METHOD, path under /api/v1)."""
    doc = json.loads(OPENAPI.read_text())
    return {
        (method.upper(), path.removeprefix(API_PREFIX)): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def probe(url: str, method: str, path: str, op: dict[str, Any], headers: dict[str, str], subject: str | None = None):
    """A request with ids that name nothing and an empty body: an allowed caller gets a
    404 or 422 and nothing is written. A volunteer id in the path is the caller's own, so
    object-level rules (tested on their own) do not mask the role rule."""

    def fill(match: re.Match[str]) -> str:
        return subject if match.group(1) == "volunteer_id" and subject else str(uuid.uuid4())

    body = {} if "requestBody" in op else None
    target = url + API_PREFIX + re.sub(r"\{(\w+)\}", fill, path)
    return requests.request(method, target, json=body, headers=headers, timeout=10)


def test_the_matrix_names_every_operation() -> None:
    published = set(operations())
    assert len(published) >= 100
    assert sorted(published - set(MATRIX)) == []  # add each new operation to route_matrix.py
    assert sorted(set(MATRIX) - published) == []  # and drop the ones that are gone
    for key, allowed in MATRIX.items():
        assert allowed in (ANY, PUBLIC) or (allowed and set(allowed) <= set(ROLES)), key


def test_every_role_on_every_route(stack: Any) -> None:
    s = stack(*SERVICES, API_KEYS=API_KEYS, RATE_LIMIT_PER_MINUTE=100_000)
    problems = []
    for (method, path), op in sorted(operations().items()):
        allowed = MATRIX[(method, path)]
        anonymous = probe(s.url, method, path, op, {})
        if allowed == PUBLIC:
            if anonymous.status_code in (401, 403) or anonymous.status_code >= 500:
                problems.append((method, path, None, anonymous.status_code))
        elif anonymous.status_code != 401:
            problems.append((method, path, None, anonymous.status_code))
        for role in ROLES:
            subject = str(uuid.uuid4())
            r = probe(s.url, method, path, op, as_role(role, subject, str(uuid.uuid4())), subject)
            may = allowed in (ANY, PUBLIC) or role in allowed
            refused = r.status_code in (401, 403)
            if r.status_code == 401 or refused == may or r.status_code >= 500:
                problems.append((method, path, role, r.status_code, r.text[:120]))
    assert problems == []
    # the probes wrote nothing
    assert (
        requests.get(f"{s.url}/api/v1/audit", params={"service": "registry"}, headers=bearer("auditor")).json()["items"]
        == []
    )


def test_registry_ownership_rules(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway", RATE_LIMIT_PER_MINUTE=100_000)
    ids = seed(http, s.url)
    api = s.url + API_PREFIX
    vol_a, vol_b, team_a, team_b = ids["volunteer_a"], ids["volunteer_b"], ids["team_a"], ids["team_b"]
    admin_a = bearer("org_admin", subject="admin-a", organisation_id=ids["org_a"])
    admin_b = bearer("org_admin", subject="admin-b", organisation_id=ids["org_b"])
    admin_without_org = bearer("org_admin", subject="admin-x")
    lead_a = bearer("team_lead", subject=vol_a)  # volunteer_a leads team_a
    member_b = bearer("team_lead", subject=vol_b)  # a member of team_b, not its lead
    team = {"code": "NEW", "name": "new", "community_id": ids["community"]}
    unit = {
        "name": "u",
        "community_id": ids["community"],
        "sector_id": ids["sector"],
        "agency_id": ids["agency"],
        "volunteer_organisation_id": ids["org_a"],
        "volunteer_ids": [vol_a],
    }
    cases: list[tuple[str, str, str, dict[str, str], Any, int]] = [
        ("volunteer reads own record", "GET", f"/volunteers/{vol_a}", bearer("volunteer", vol_a), None, 200),
        ("volunteer reads another's record", "GET", f"/volunteers/{vol_b}", bearer("volunteer", vol_a), None, 403),
        ("volunteer lists own team", "GET", f"/teams/{team_a}/members", bearer("volunteer", vol_a), None, 200),
        ("volunteer lists another team", "GET", f"/teams/{team_b}/members", bearer("volunteer", vol_a), None, 403),
        (
            "org_admin creates a team for another org",
            "POST",
            "/teams",
            admin_a,
            {**team, "organisation_id": ids["org_b"]},
            403,
        ),
        (
            "org_admin without org claim creates a team",
            "POST",
            "/teams",
            admin_without_org,
            {**team, "organisation_id": ids["org_a"]},
            403,
        ),
        (
            "org_admin adds to another org's team",
            "POST",
            f"/teams/{team_b}/members",
            admin_a,
            {"volunteer_id": vol_a},
            403,
        ),
        ("org_admin removes from another org's team", "DELETE", f"/teams/{team_b}/members/{vol_b}", admin_a, None, 403),
        ("org_admin updates a volunteer of another org", "PATCH", f"/volunteers/{vol_b}", admin_a, {"skills": []}, 403),
        (
            "team lead changes a team they do not lead",
            "POST",
            f"/teams/{team_b}/members",
            lead_a,
            {"volunteer_id": vol_a},
            403,
        ),
        ("team member (not lead) changes own team", "DELETE", f"/teams/{team_b}/members/{vol_b}", member_b, None, 403),
        ("org_admin forms a unit without their org", "POST", "/units", admin_b, unit, 403),
        # and the same callers on their own objects
        (
            "org_admin creates a team for own org",
            "POST",
            "/teams",
            admin_a,
            {**team, "organisation_id": ids["org_a"]},
            201,
        ),
        (
            "org_admin updates a volunteer of own org",
            "PATCH",
            f"/volunteers/{vol_a}",
            admin_a,
            {"skills": ["first_aid"]},
            200,
        ),
        ("org_admin forms a unit with own org", "POST", "/units", admin_a, unit, 201),
        ("org_admin adds to own team", "POST", f"/teams/{team_a}/members", admin_a, {"volunteer_id": vol_b}, 201),
        ("team lead removes from the team they lead", "DELETE", f"/teams/{team_a}/members/{vol_b}", lead_a, None, 204),
        ("org_admin b removes from own team", "DELETE", f"/teams/{team_b}/members/{vol_b}", admin_b, None, 204),
    ]
    wrong = []
    for name, method, path, headers, body, expected in cases:
        conditional = {"If-Match": "*"} if method in ("PATCH", "PUT") else {}  # any version: rights are the question
        r = requests.request(method, api + path, json=body, headers={**headers, **conditional}, timeout=10)
        if r.status_code != expected:
            wrong.append((name, r.status_code, r.text[:200]))
    assert wrong == []
    # the refused changes left nothing behind: only the six allowed changes are in the trail
    trail = requests.get(f"{api}/audit", params={"service": "registry", "limit": 200}, headers=bearer("auditor")).json()
    mine = [e for e in trail["items"] if e["actor_subject"] in ("admin-a", "admin-b", vol_a)]
    assert sorted(e["entrypoint"] for e in mine) == [
        "add_member",
        "create_team",
        "form_unit",
        "remove_member",
        "remove_member",
        "update_volunteer",
    ]
    assert [t["code"] for t in http.get(f"{api}/teams").json()["items"] if t["code"] == "NEW"] == ["NEW"]


def test_registry_authorises_rpc_callers_itself(stack: Any) -> None:
    """A caller that reaches the service without the gateway's route check meets the same rules."""

    s = stack("registry")
    volunteer = Identity(subject=str(uuid.uuid4()), role="volunteer")
    with s.rpc("registry", volunteer) as registry:
        for call in (
            lambda: registry.create_place({"code": "X", "name": "X", "level": "district"}),
            lambda: registry.register_volunteer(
                {"name": "x", "id_number": id_number(9), "community_id": str(uuid.uuid4())}
            ),
            lambda: registry.audit_log({}),
        ):
            with pytest.raises(Forbidden):
                call()
    with s.rpc("registry") as registry:  # a named service account
        assert registry.create_place({"code": "D", "name": "D", "level": "district"})["level"] == "district"
