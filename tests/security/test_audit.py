"""The audit trail: written by the kit in the same transaction as each change, read by
auditors and operators through GET /api/v1/audit?service=…, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import requests

from tests.problems import problem_fields
from tests.security.credentials import bearer
from tests.security.district import id_number


def test_changes_leave_who_when_what_and_request(stack: Any) -> None:
    s = stack("registry", "gateway")
    api = f"{s.url}/api/v1"
    operator = bearer("operator", subject="op-7")
    auditor = bearer("auditor", subject="aud-1")

    def post(path: str, body: dict[str, Any], headers: dict[str, str], request_id: str) -> requests.Response:
        return requests.post(api + path, json=body, headers={**headers, "X-Correlation-Id": request_id})

    organisation = post(
        "/organisations",
        {"code": "O", "name": "O", "kind": "volunteer_organisation"},
        bearer("operator", "op-0"),
        "req-org-0001",
    ).json()["id"]  # the administrator's, whose volunteers they register
    admin = bearer("org_admin", subject="admin-3", organisation_id=organisation)

    district = post("/places", {"code": "D", "name": "D", "level": "district"}, operator, "req-place-0001").json()
    street = post(
        "/places",
        {"code": "S", "name": "S", "level": "street", "parent_id": district["id"]},
        operator,
        "req-place-0002",
    ).json()
    community = post(
        "/places",
        {"code": "C", "name": "C", "level": "community", "parent_id": street["id"]},
        operator,
        "req-place-0003",
    ).json()
    r = post(
        "/volunteers",
        {"name": "张三", "id_number": id_number(1), "phone": "13700001111", "community_id": community["id"]},
        admin,
        "req-volunteer-01",
    )
    assert r.status_code == 201 and r.headers["X-Correlation-Id"] == "req-volunteer-01"
    volunteer = r.json()
    # a refused change and a read leave no trace
    assert (
        post(
            "/volunteers",
            {"name": "李四", "id_number": id_number(1), "community_id": community["id"]},
            admin,
            "req-duplicate-01",
        ).status_code
        == 409
    )
    assert requests.get(f"{api}/volunteers/{volunteer['id']}", headers=operator).status_code == 200

    def trail(**params: Any) -> dict[str, Any]:
        r = requests.get(f"{api}/audit", params={"service": "registry", **params}, headers=auditor)
        assert r.status_code == 200, r.text
        return r.json()

    entries = trail()["items"]
    assert [e["correlation_id"] for e in entries] == [
        "req-volunteer-01",
        "req-place-0003",
        "req-place-0002",
        "req-place-0001",
        "req-org-0001",
    ]  # newest first
    newest = entries[0]
    assert newest["actor_subject"] == "admin-3" and newest["actor_role"] == "org_admin"
    assert newest["actor_organisation_id"] == organisation
    assert newest["action"] == ["volunteer.registered"] and newest["entrypoint"] == "register_volunteer"
    assert newest["entity_ids"] == [volunteer["id"], community["id"], organisation]  # registered for their own
    assert len(newest["event_ids"]) == 1 and newest["occurred_at"].endswith("+00:00")
    assert entries[1]["action"] == ["place.created"] and entries[1]["entity_ids"] == [community["id"], street["id"]]
    assert "张三" not in str(entries) and id_number(1) not in str(entries) and "13700001111" not in str(entries)

    assert [e["correlation_id"] for e in trail(actor="op-7")["items"]][-1] == "req-place-0001"
    assert len(trail(actor="op-7")["items"]) == 3
    assert [e["entrypoint"] for e in trail(action="volunteer.registered")["items"]] == ["register_volunteer"]
    assert [e["correlation_id"] for e in trail(entity_id=community["id"])["items"]] == [
        "req-volunteer-01",
        "req-place-0003",
    ]
    assert trail(correlation_id="req-place-0002")["items"][0]["entity_ids"][0] == street["id"]
    page = trail(limit=3)
    rest = trail(limit=3, cursor=page["next_cursor"])
    assert len(page["items"]) == 3
    assert [e["correlation_id"] for e in rest["items"]] == ["req-place-0001", "req-org-0001"]
    assert rest["next_cursor"] is None
    assert trail(since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00Z")["items"] == []

    # who may read it, and what they must say
    assert requests.get(f"{api}/audit", params={"service": "registry"}, headers=operator).status_code == 200
    for role in ("org_admin", "volunteer", "resident", "fund_committee"):
        assert requests.get(f"{api}/audit", params={"service": "registry"}, headers=bearer(role)).status_code == 403
    r = requests.get(f"{api}/audit", params={"service": "nowhere"}, headers=auditor)
    assert r.status_code == 422 and "service" in problem_fields(r)
    r = requests.get(f"{api}/audit", headers=auditor)
    assert r.status_code == 422 and "service" in problem_fields(r)
    r = requests.get(f"{api}/audit", params={"service": "registry", "action": "DROP TABLE"}, headers=auditor)
    assert r.status_code == 422 and "action" in problem_fields(r)
