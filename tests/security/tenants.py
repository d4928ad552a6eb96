"""Two tenants side by side for the ownership matrix: tenant ``a`` and tenant ``b`` each
have their own street and community, a volunteer organisation with a team (volunteer 1
leads it, volunteer 2 is a member), a residents' committee and a social enterprise with
its profit report, a disbursement request, a project with an activity, an hours sheet
with a pending correction and a certificate for each volunteer, a ticket per resident,
a suggestion per resident and a mediation case. Everything is created through the API
as the operator (or the tenant's own staff where the rules want the organisation's
word), so the objects are real, not ids that name nothing.

Every free-text value of a tenant carries its marker (甲 or 乙), so a leak of tenant b's
names or addresses into an answer is a substring search."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import requests

from services.gateway.routing import API_PREFIX
from tests.polling import wait_until
from tests.security.credentials import bearer
from tests.security.district import id_number

MARK = {"a": "甲", "b": "乙"}
PHONES = {"a1": "13911110001", "a2": "13911110002", "b1": "13922220001", "b2": "13922220002"}


def seed(http: requests.Session, url: str) -> dict[str, Any]:
    """Create both tenants; return ``{"a": {...ids}, "b": {...ids}, "b_values": [...]}``,
    where ``b_values`` lists everything identifying of tenant b (ids, names, addresses)."""
    api = url + API_PREFIX

    def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        r = (
            requests.request(method, api + path, json=body, headers=headers, timeout=30)
            if headers
            else http.request(method, api + path, json=body, timeout=30)
        )
        assert r.status_code in (200, 201), (method, path, r.status_code, r.text)
        return r.json()

    district = call("POST", "/places", {"code": "T-D", "name": "郫都区", "level": "district"})["id"]
    tenants = {key: _registry(call, key, district) for key in ("a", "b")}
    wait_until(
        lambda: all(
            http.get(f"{api}/hours/volunteers/{t[v]}/totals").status_code == 200
            for t in tenants.values()
            for v in ("volunteer_1", "volunteer_2")
        ),
        what="hours knows the volunteers",
    )
    for key, t in tenants.items():
        _tickets(call, key, t)
        _hours(call, key, t)
        _fund(call, key, t)
        _activities(call, key, t)
    b = tenants["b"]
    values = [v for v in b.values() if isinstance(v, str)]
    values += [f"{MARK['b']}{word}" for word in ("街道", "社区", "志愿者", "路", "居民", "夜市", "队")]
    values += [PHONES["b1"], PHONES["b2"]]
    return {**tenants, "b_values": values}


def _registry(call: Callable[..., Any], key: str, district: str) -> dict[str, Any]:
    m = MARK[key]
    t: dict[str, Any] = {"district": district}
    t["street"] = call(
        "POST", "/places", {"code": f"T-{key}-S", "name": f"{m}街道", "level": "street", "parent_id": district}
    )["id"]
    t["community"] = call(
        "POST", "/places", {"code": f"T-{key}-C", "name": f"{m}社区", "level": "community", "parent_id": t["street"]}
    )["id"]
    for name, kind in [
        ("organisation", "volunteer_organisation"),
        ("committee", "residents_committee"),
        ("enterprise_org", "social_enterprise"),
    ]:
        t[name] = call(
            "POST",
            "/organisations",
            {"code": f"T-{key}-{name}", "name": f"{m}{name}", "kind": kind, "community_id": t["community"]},
        )["id"]
    t["team"] = call(
        "POST",
        "/teams",
        {
            "code": f"T-{key}-T",
            "name": f"{m}队",
            "organisation_id": t["organisation"],
            "community_id": t["community"],
            "skills": ["plumbing"],
        },
    )["id"]
    for n, role in ((1, "lead"), (2, "member")):
        t[f"volunteer_{n}"] = call(
            "POST",
            "/volunteers",
            {
                "name": f"{m}志愿者{n}",
                "id_number": id_number(40 + n + (10 if key == "b" else 0)),
                "phone": PHONES[f"{key}{n}"],
                "community_id": t["community"],
                "organisation_id": t["organisation"],
                "skills": ["plumbing"],
            },
        )["id"]
        call("POST", f"/teams/{t['team']}/members", {"volunteer_id": t[f"volunteer_{n}"], "role": role})
    return t


def _tickets(call: Callable[..., Any], key: str, t: dict[str, Any]) -> None:
    m = MARK[key]
    for n in (1, 2):
        resident = f"resident-{key}{n}"
        ticket = call(
            "POST",
            "/tickets",
            {
                "category_code": "blocked_drain",
                "community_id": t["community"],
                "channel": "resident_online",
                "resident_name": f"{m}居民{n}",
                "address": f"{m}路{n}号",
                "description": f"{m}厨房下水道堵了",
                "attributes": {"location": "kitchen"},
            },
            bearer("resident", resident),
        )
        t[f"ticket_{n}"] = ticket["id"]
        # ticket 1 names volunteer 1 of the team; ticket 2 names volunteer 2 only
        call("POST", f"/tickets/{ticket['id']}/assign", {"team_id": t["team"], "volunteer_ids": [t[f"volunteer_{n}"]]})
        t[f"suggestion_{n}"] = call(
            "POST",
            "/suggestions",
            {
                "community_id": t["community"],
                "topic": "parking",
                "channel": "online",
                "content": f"{m}停车难{n}",
                "resident": {"name": f"{m}居民{n}"},
            },
            bearer("resident", resident),
        )["id"]
    t["case"] = call(
        "POST",
        "/mediation-cases",
        {
            "community_id": t["community"],
            "social_worker_id": t["volunteer_1"],
            "summary": f"{m}噪音纠纷",
            "parties": [{"name": f"{m}刘先生"}, {"name": f"{m}楼下住户", "people": 2}],
        },
    )["id"]


def _hours(call: Callable[..., Any], key: str, t: dict[str, Any]) -> None:
    m = MARK[key]
    served_on = date.today() - timedelta(days=2)
    staff = bearer("org_admin", f"seed-admin-{key}", t["organisation"])
    sheet = call(
        "POST",
        "/hours/sheets",
        {
            "organisation_id": t["organisation"],
            "activity": f"{m}敬老院探访",
            "served_on": served_on.isoformat(),
            "place": f"{m}敬老院",
            "community_id": t["community"],
            "content": "陪伴老人",
            "entries": [
                {"volunteer_id": t["volunteer_1"], "minutes": 120},
                {"volunteer_id": t["volunteer_2"], "minutes": 60},
            ],
        },
        staff,
    )
    t["sheet"] = sheet["id"]
    entries = {e["volunteer_id"]: e["id"] for e in sheet["entries"]}
    t["entry_1"], t["entry_2"] = entries[t["volunteer_1"]], entries[t["volunteer_2"]]
    verifier = bearer("verifier", f"seed-verifier-{key}", t["organisation"])
    for entry in (t["entry_1"], t["entry_2"]):
        call("POST", f"/hours/entries/{entry}/verify", None, verifier)
    for n in (1, 2):
        t[f"certificate_{n}"] = call(
            "POST",
            "/hours/certificates",
            {
                "volunteer_id": t[f"volunteer_{n}"],
                "organisation_id": t["organisation"],
                "from": (served_on - timedelta(days=1)).isoformat(),
                "to": served_on.isoformat(),
                "person_in_charge": f"{m}主任",
                "contact": "028-87654321",
            },
            staff,
        )["id"]
    t["correction"] = call(
        "POST", f"/hours/entries/{t['entry_1']}/corrections", {"minutes": 90, "reason": f"{m}少记了"}
    )["id"]


def _fund(call: Callable[..., Any], key: str, t: dict[str, Any]) -> None:
    m = MARK[key]
    t["enterprise"] = call(
        "POST",
        "/fund/enterprises",
        {
            "code": f"T-{key}-NM",
            "name": f"{m}夜市运营有限公司",
            "community_id": t["community"],
            "owner_organisation_id": t["committee"],
            "organisation_id": t["enterprise_org"],
            "contribution_rate_bp": 1000,
        },
    )["id"]
    t["report"] = call(
        "POST",
        "/fund/profit-reports",
        {
            "enterprise_id": t["enterprise"],
            "fiscal_year": datetime.now(timezone.utc).year - 1,
            "net_profit": "100000.00",
            "audited": True,
            "document_ref": f"AUD-{key}",
            "transfer_id": str(uuid.uuid4()),
        },
    )["id"]
    t["disbursement"] = call(
        "POST",
        "/fund/disbursements",
        {"community_id": t["community"], "category": "hardware_repair", "amount": "100.00", "purpose": f"{m}换井盖"},
        bearer("org_admin", f"seed-admin-{key}", t["organisation"]),
    )["id"]


def _activities(call: Callable[..., Any], key: str, t: dict[str, Any]) -> None:
    m = MARK[key]
    staff = bearer("org_admin", f"seed-admin-{key}", t["organisation"])
    day = date.today() + timedelta(days=3)
    t["project"] = call(
        "POST",
        "/projects",
        {
            "name": f"{m}益路童行",
            "agency_id": t["organisation"],
            "organisation_ids": [t["organisation"]],
            "service_domain": "child_care",
            "community_ids": [t["community"]],
            "beneficiary_groups": ["children_in_difficulty"],
            "starts_on": (day - timedelta(days=10)).isoformat(),
            "ends_on": (day + timedelta(days=90)).isoformat(),
        },
        staff,
    )["id"]
    t["activity"] = call(
        "POST",
        "/activities",
        {
            "organisation_id": t["organisation"],
            "project_id": t["project"],
            "kind": "service",
            "title": f"{m}困境儿童陪伴",
            "place": f"{m}儿童之家",
            "community_id": t["community"],
            "starts_at": f"{day.isoformat()}T09:00:00+08:00",
            "ends_at": f"{day.isoformat()}T11:00:00+08:00",
            "capacity": 10,
        },
        staff,
    )["id"]
    for n in (1, 2):
        volunteer = t[f"volunteer_{n}"]
        call(
            "POST", f"/activities/{t['activity']}/sign-ups", {"volunteer_id": volunteer}, bearer("volunteer", volunteer)
        )
