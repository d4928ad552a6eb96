"""Role × route × own/other/other-tenant, with real objects of two tenants.

Every operation on one object (``SCOPES`` in ``tests/security/route_matrix.py``) is
called by every role the route admits, as a caller of tenant a, on its own object, on
someone else's object of the same tenant and on tenant b's object. The expected outcome
of each case comes from that hand-written list: a refusal is the route's ``deny`` status,
its body names nothing of tenant b (ids, names, addresses) beyond the id in the path,
and a refused write changes nothing (the operator reads the object before and after).
The tenants' lists (``LISTS``) name none of tenant b's objects to a tenant-a caller."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from nameko.containers import get_container_cls

from services import SERVICES
from services.gateway.routing import API_PREFIX
from services.roles import PERSON_ROLES, ROLES
from tests.conftest import TEST_JWT_SECRET
from tests.harness import TEST_IDENTITY_SECRET, Stack, free_port
from tests.security.credentials import API_KEYS, as_role
from tests.security.route_matrix import ANY, LISTS, MATRIX, PENDING_LISTS, PUBLIC, SCOPES, Scope
from tests.security.tenants import seed
from yilin.tokens import issue_token

CASES = ("own", "other", "tenant")
PENDING = "scoped by the hours read change"

# The object each path names, per case (keys of ``tests.security.tenants.seed``): the
# caller's own, someone else's in tenant a, and tenant b's (always the ``own`` key of b).
OBJECTS: dict[str, tuple[str, str]] = {
    "volunteer": ("volunteer_1", "volunteer_2"),
    "entry": ("entry_1", "entry_2"),
    "certificate": ("certificate_1", "certificate_2"),
    "ticket": ("ticket_1", "ticket_2"),
    "suggestion": ("suggestion_1", "suggestion_2"),
}
# Where the operator reads each kind of object back, to see a refused write changed nothing.
READ_BACK = {
    "activity": ["/activities/{id}", "/activities/{id}/sign-ups"],
    "team": ["/teams/{id}/members"],
    "volunteer": ["/volunteers/{id}", "/hours/volunteers/{id}/selection", "/hours/volunteers/{id}/totals"],
    "report": ["/fund/profit-reports/{id}"],
    "disbursement": ["/fund/disbursements/{id}"],
    "sheet": ["/hours/sheets/{id}"],
    "entry": ["/hours/entries/{id}"],
    "correction": ["/hours/entries/{entry_1}"],
    "ticket": ["/tickets/{id}", "/tickets/{id}/history"],
    "suggestion": ["/suggestions/{id}"],
    "case": ["/mediation-cases/{id}"],
}


def body_for(method: str, path: str, a: dict[str, Any]) -> Any:
    """A valid body for each write, naming only tenant a's objects besides the path's."""
    now = datetime.now(timezone.utc).isoformat()
    bodies: dict[str, Any] = {
        "/sign-ups": {"volunteer_id": a["volunteer_1"]},
        "/cancellations": {"volunteer_id": a["volunteer_1"]},
        "/check-ins": {"volunteer_id": a["volunteer_1"]},
        "/check-outs": {"volunteer_id": a["volunteer_1"]},
        "/no-shows": {"volunteer_id": a["volunteer_1"]},
        "/code-check-ins": {"volunteer_id": a["volunteer_1"], "code": "123456"},
        "/close": {"beneficiary_visits": 1},
        "/members": {"volunteer_id": a["volunteer_2"]},
        "/amendments": {"net_profit": "1.00", "reason": "复核", "transfer_id": str(uuid.uuid4())},
        "/approvals": {},
        "/rejection": {"reason": "不合规"},
        "/cancellation": {"reason": "撤回"},
        "/payment": {"transfer_id": str(uuid.uuid4())},
        "/corrections": {"minutes": 30, "reason": "少记"},
        "/reject": {"reason": "未到场"},
        "/selection": {"selected": True},
        "/assign": {"team_id": a["team"], "volunteer_ids": [a["volunteer_1"]]},
        "/resolve": {"volunteers": []},
        "/confirm": {"rating": 5},
        "/reopen": {"note": "还是堵"},
        "/escalate": {"note": "需要社工"},
        "/cancel": {"note": "不需要了"},
        "/merge": {"into_id": a["suggestion_1"]},
        "/answer": {"answer": "已安排"},
        "/links": {"kind": "ticket", "target_id": a["ticket_1"]},
        "/fund-requests": {"amount": "1.00", "category": "hardware_repair", "purpose": "修路灯"},
        "/sessions": {"held_at": now, "minutes": 30},
        "/volunteers/{volunteer_id}": {"skills": ["first_aid"]},
    }
    if method == "GET" or method == "DELETE":
        return None
    if path.endswith("/close") and "mediation" in path:
        return {"outcome": "agreement", "satisfaction": [{"party": 1, "rating": 5}]}
    for suffix, body in bodies.items():
        if path.endswith(suffix):
            return body
    return {}  # approve, verify, start, check-in-code: no fields


def caller(role: str, a: dict[str, Any]) -> dict[str, str]:
    """A caller of tenant a in ``role``: staff carry tenant a's organisation, volunteers
    and leads are volunteer 1 (who leads team a), the resident raised ticket 1."""
    subject = {
        "volunteer": a["volunteer_1"],
        "team_lead": a["volunteer_1"],
        "resident": "resident-a1",
        "org_admin": "seed-admin-a",  # who requested tenant a's disbursement
    }.get(role, f"{role}-a")
    organisation = {"enterprise_rep": a["enterprise_org"]}.get(role, a["organisation"])
    if role in ("operator", "auditor", "fund_committee", "volunteer", "team_lead", "resident"):
        organisation = None
    return as_role(role, subject, organisation)


def admitted(method: str, path: str) -> tuple[str, ...]:
    allowed = MATRIX[(method, path)]
    if allowed in (ANY, PUBLIC):
        return ROLES
    return tuple(r for r in ROLES if r in allowed)


def expected(scope: Scope, role: str, case: str) -> bool:
    if case == "own":
        return scope.own is None or role in scope.own
    if case == "other":
        return role in (scope.other or ())
    return role in scope.tenant


def matrix_cases() -> Iterator[Any]:
    """Refusals first, then the allowed calls, so an allowed write (an operator closing an
    activity) cannot turn a later refusal into a state conflict."""
    refused, allowed = [], []
    for (method, path), scope in SCOPES.items():
        for role in admitted(method, path):
            for case in CASES:
                if case == "other" and scope.other is None:
                    continue
                ok = expected(scope, role, case)
                marks = []
                if scope.pending and not ok:
                    marks = [pytest.mark.xfail(strict=True, reason=PENDING)]
                param = pytest.param(method, path, role, case, ok, marks=marks, id=f"{method} {path} {role} {case}")
                (allowed if ok else refused).append(param)
    yield from refused
    yield from allowed


@pytest.fixture(scope="module")
def district(amqp_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One stack of every service and the two tenants, for the whole module (SQLite)."""
    folder = tmp_path_factory.mktemp("tenants")
    config = {
        "AMQP_URI": amqp_uri,
        "DATABASE_URL": f"sqlite:///{folder}/{{service}}.db",
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "METRICS_PORTS": {},
        "max_workers": 10,
        "GATEWAY_MAX_WORKERS": 100,
        "serializer": "json",
        "JWT_SECRET": TEST_JWT_SECRET,
        "PII_KEY": "test-pii-key",
        "CERTIFICATE_KEY": "test-certificate-key",
        "ENVIRONMENT": "development",
        "IDENTITY_SECRET": TEST_IDENTITY_SECRET,
        "OUTBOX_SWEEP_INTERVAL": 0.3,
        "OUTBOX_SWEEP_GRACE": 0.5,
        "API_KEYS": API_KEYS,
        "RATE_LIMIT_PER_MINUTE": 1_000_000,
    }
    containers: list[Any] = []

    def factory(service: type, cfg: dict[str, Any]) -> Any:
        container = get_container_cls(cfg)(service, cfg)
        containers.append(container)
        return container

    stack = Stack.start(SERVICES, config, factory)
    operator = requests.Session()
    token = issue_token({"JWT_SECRET": TEST_JWT_SECRET}, "operator", subject="seed-operator", roles=PERSON_ROLES)
    operator.headers["Authorization"] = f"Bearer {token}"
    ids = seed(operator, stack.url)
    yield {"api": stack.url + API_PREFIX, "operator": operator, **ids}
    for container in containers:
        container.kill()


def target(path: str, scope: Scope, case: str, d: dict[str, Any]) -> tuple[str, str]:
    """The URL path for ``case`` and the id of the object it names."""
    own_key, other_key = OBJECTS.get(scope.kind, (scope.kind, scope.kind))
    tenant, key = {"own": ("a", own_key), "other": ("a", other_key), "tenant": ("b", own_key)}[case]
    obj = d[tenant][key]
    filled = re.sub(r"\{\w+\}", obj, path, count=1)
    # a second id (a team's member) is that team's member volunteer 2
    filled = re.sub(r"\{volunteer_id\}", d[tenant]["volunteer_2"], filled)
    return filled, obj


def snapshot(d: dict[str, Any], scope: Scope, obj: str, tenant: str) -> list[Any]:
    reads = []
    for read in READ_BACK.get(scope.kind, []):
        r = d["operator"].get(d["api"] + read.format(id=obj, entry_1=d[tenant]["entry_1"]), timeout=10)
        reads.append((read, r.status_code, r.text))
    return reads


def leaked(text: str, d: dict[str, Any], allowed: set[str]) -> list[str]:
    return [v for v in d["b_values"] if v not in allowed and v in text]


def list_cases() -> Iterator[Any]:
    for (method, path), sees_b in LISTS.items():
        for role in admitted(method, path):
            marks = []
            if (method, path) in PENDING_LISTS and role not in sees_b:
                marks = [pytest.mark.xfail(strict=True, reason=PENDING)]
            yield pytest.param(method, path, role, role in sees_b, marks=marks, id=f"{method} {path} {role}")


@pytest.mark.parametrize(("method", "path", "role", "sees_b"), list(list_cases()))
def test_lists_keep_to_the_tenant(district: dict[str, Any], method: str, path: str, role: str, sees_b: bool) -> None:
    d = district
    r = requests.get(d["api"] + path, params={"limit": 200}, headers=caller(role, d["a"]), timeout=10)
    assert r.status_code == 200, r.text[:300]
    if sees_b:
        # the district roles see tenant b's objects: the seed put some there to see
        assert leaked(r.text, d, set()) != []
    else:
        assert leaked(r.text, d, set()) == []


@pytest.mark.parametrize(("method", "path", "role", "case", "ok"), list(matrix_cases()))
def test_role_route_ownership(district: dict[str, Any], method: str, path: str, role: str, case: str, ok: bool) -> None:
    d = district
    scope = SCOPES[(method, path)]
    url_path, obj = target(path, scope, case, d)
    tenant = "b" if case == "tenant" else "a"
    before = snapshot(d, scope, obj, tenant) if method != "GET" and not ok else None
    headers = caller(role, d["a"])
    if method in ("PUT", "PATCH"):
        headers = {**headers, "If-Match": "*"}  # any version: the rights are the question
    r = requests.request(method, d["api"] + url_path, json=body_for(method, path, d["a"]), headers=headers, timeout=10)
    if ok:
        assert r.status_code not in (401, 403), r.text[:300]
        assert r.status_code < 500, r.text[:300]
        if method == "GET":
            assert r.status_code == 200, r.text[:300]
        elif scope.deny == 404:
            assert r.status_code != 404, r.text[:300]
        if case == "tenant" and role in scope.bare:
            assert leaked(r.text, d, set(re.findall(r"[0-9a-f-]{36}", url_path))) == []
        return
    assert r.status_code == scope.deny, r.text[:300]
    in_path = set(re.findall(r"[0-9a-f-]{36}", url_path))
    assert leaked(r.text, d, in_path) == []
    if before is not None:
        assert snapshot(d, scope, obj, tenant) == before  # a refused write changed nothing


def test_every_object_route_has_a_scope() -> None:
    """Each operation with an object id in its path (other than the district's public
    reference data) has its ownership expectations written down."""
    doc = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
    reference = (
        "/places/",
        "/organisations/",
        "/teams/{team_id}",
        "/units/",
        "/grids/",
        "/ticket-categories/",
        "/fund/",
    )
    reference_writes = {("PATCH", "/ticket-categories/{category_id}")}  # the operator's catalogue
    missing = []
    for full, item in doc["paths"].items():
        path = full.removeprefix(API_PREFIX)
        for method in item:
            key = (method.upper(), path)
            if key not in MATRIX or "{" not in path or key in SCOPES or key in reference_writes:
                continue
            if MATRIX[key] in (ANY, PUBLIC) or (
                path.startswith(reference) and method == "get" and path.count("{") == 1
            ):
                continue
            missing.append(key)
    assert missing == []
    assert len(SCOPES) >= 55
