"""Changes that publish no event still leave an audit row, written in their transaction:
ticket categories created and updated, disbursement requests cancelled, certificates
issued and star selections set (with the actor and the action)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from services.gateway.routing import API_PREFIX
from tests.fund.seeding import YEAR, register
from tests.fund.seeding import seed as fund_seed
from tests.harness import wait_until
from tests.security.credentials import bearer
from tests.security.district import seed

NO_METRICS_SERVER = {name: 0 for name in ("registry", "tickets", "hours", "fund", "gateway")}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"  # the trail is written by the kit; one backend


def test_changes_without_events_are_audited(stack: Any, http: Any) -> None:
    s = stack(*NO_METRICS_SERVER, METRICS_PORTS=NO_METRICS_SERVER, RATE_LIMIT_PER_MINUTE=100_000)
    ids = seed(http, s.url)
    api = s.url + API_PREFIX
    operator = bearer("operator", subject="op-audit")
    admin_a = bearer("org_admin", subject="admin-a", organisation_id=ids["org_a"])
    vol_a = ids["volunteer_a"]

    def trail(service: str, action: str) -> list[dict[str, Any]]:
        r = requests.get(f"{api}/audit", params={"service": service, "action": action}, headers=bearer("auditor"))
        assert r.status_code == 200, r.text
        return r.json()["items"]

    # ticket categories
    r = requests.post(
        f"{api}/ticket-categories",
        json={"code": "pet_care", "name": "宠物照看", "skill": "pets", "assign_minutes": 60, "resolve_minutes": 600},
        headers=operator,
    )
    assert r.status_code == 201, r.text
    category = r.json()["id"]
    r = requests.patch(
        f"{api}/ticket-categories/{category}", json={"name": "宠物"}, headers={**operator, "If-Match": "*"}
    )
    assert r.status_code == 200, r.text

    # a disbursement request, cancelled by its requester
    fund_ids = fund_seed(http, s.url)
    enterprise = register(http, s.url, fund_ids)
    report = {"enterprise_id": enterprise["id"], "fiscal_year": YEAR - 1, "net_profit": "100000.00"}
    assert http.post(f"{api}/fund/profit-reports", json={**report, "transfer_id": str(uuid.uuid4())}).ok
    body = {"community_id": fund_ids["PD-01-01"], "category": "hardware_repair", "amount": "100.00", "purpose": "Bins"}
    r = requests.post(f"{api}/fund/disbursements", json=body, headers=operator)
    assert r.status_code == 201, r.text
    disbursement = r.json()["id"]
    r = requests.post(
        f"{api}/fund/disbursements/{disbursement}/cancellation", json={"reason": "重复"}, headers=operator
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text

    # a certificate of verified hours, and a selection for five stars
    wait_until(lambda: http.get(f"{api}/hours/volunteers/{vol_a}/totals").status_code == 200, what="hours knows")
    served_on = date.today() - timedelta(days=2)
    sheet = requests.post(
        f"{api}/hours/sheets",
        json={
            "organisation_id": ids["org_a"],
            "activity": "探访",
            "served_on": served_on.isoformat(),
            "place": "敬老院",
            "community_id": ids["community"],
            "content": "陪伴老人",
            "entries": [{"volunteer_id": vol_a, "minutes": 120}],
        },
        headers=admin_a,
    ).json()
    verifier = bearer("verifier", subject="verifier-a", organisation_id=ids["org_a"])
    assert requests.post(f"{api}/hours/entries/{sheet['entries'][0]['id']}/verify", headers=verifier).ok
    r = requests.post(
        f"{api}/hours/certificates",
        json={
            "volunteer_id": vol_a,
            "organisation_id": ids["org_a"],
            "from": served_on.isoformat(),
            "to": served_on.isoformat(),
            "person_in_charge": "张主任",
            "contact": "028-87654321",
        },
        headers=admin_a,
    )
    assert r.status_code == 201, r.text
    certificate = r.json()["id"]
    selection = f"{api}/hours/volunteers/{vol_a}/selection"
    assert requests.put(selection, json={"selected": True}, headers={**admin_a, "If-Match": "*"}).status_code == 200
    assert requests.put(selection, json={"selected": False}, headers={**admin_a, "If-Match": "*"}).status_code == 200

    expected = [
        ("tickets", "category.created", "op-audit", "create_category", category),
        ("tickets", "category.updated", "op-audit", "update_category", category),
        ("fund", "disbursement.cancelled", "op-audit", "cancel_disbursement", disbursement),
        ("hours", "certificate.issued", "admin-a", "issue_certificate", certificate),
        ("hours", "volunteer.selected", "admin-a", "set_selection", vol_a),
        ("hours", "volunteer.unselected", "admin-a", "set_selection", vol_a),
    ]
    for service, action, actor, entrypoint, entity in expected:
        rows = trail(service, action)
        assert len(rows) == 1, (service, action, rows)
        row = rows[0]
        assert (row["actor_subject"], row["entrypoint"]) == (actor, entrypoint), row
        assert action in row["action"] and entity in row["entity_ids"], row
    certified = trail("hours", "certificate.issued")[0]
    assert certified["actor_organisation_id"] == ids["org_a"] and vol_a in certified["entity_ids"]
