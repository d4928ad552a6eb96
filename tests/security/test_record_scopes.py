"""Certificates and national records over HTTP: a volunteer reads their own, an
organisation's staff those of their own organisation's volunteers (and the certificates
their organisation issued), the district's operator and auditor anyone's; everyone else
gets 403. The public certificate check stays public. Expected outcomes are written out
per case, not derived from the rules under test."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.security.credentials import bearer
from tests.security.district import hours_district


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"  # the rules are above the database; one backend


def test_certificates_and_records_follow_the_volunteer(stack: Any, http: Any) -> None:
    api, ids = hours_district(stack, http)
    vol_a, vol_b, org_a, org_b = ids["volunteer_a"], ids["volunteer_b"], ids["org_a"], ids["org_b"]
    served_on = date.today() - timedelta(days=2)
    admin_a = bearer("org_admin", subject="admin-a", organisation_id=org_a)
    # Organisation A records both volunteers' service (B's volunteer helped A's activity),
    # its verifier (on no line) verifies, its administrator certifies each.
    sheet = requests.post(
        f"{api}/hours/sheets",
        json={
            "organisation_id": org_a,
            "activity": "敬老院探访",
            "served_on": served_on.isoformat(),
            "place": "敬老院",
            "community_id": ids["community"],
            "content": "陪伴老人",
            "entries": [{"volunteer_id": vol_a, "minutes": 120}, {"volunteer_id": vol_b, "minutes": 60}],
        },
        headers=admin_a,
    )
    assert sheet.status_code == 201, sheet.text
    verifier_a = bearer("verifier", subject="verifier-a", organisation_id=org_a)
    for entry in sheet.json()["entries"]:
        r = requests.post(f"{api}/hours/entries/{entry['id']}/verify", headers=verifier_a)
        assert r.status_code == 200, r.text
    certs = {}
    for key, volunteer in (("a", vol_a), ("b", vol_b)):
        r = requests.post(
            f"{api}/hours/certificates",
            json={
                "volunteer_id": volunteer,
                "organisation_id": org_a,
                "from": (served_on - timedelta(days=1)).isoformat(),
                "to": served_on.isoformat(),
                "person_in_charge": "张主任",
                "contact": "028-87654321",
            },
            headers=admin_a,
        )
        assert r.status_code == 201, r.text
        certs[key] = r.json()
    # A enrols B's volunteer in its team: that makes them no more A's to read
    assert requests.post(f"{api}/teams/{ids['team_a']}/members", json={"volunteer_id": vol_b}, headers=admin_a).ok

    callers = {
        "volunteer a": bearer("volunteer", subject=vol_a),
        "volunteer b": bearer("volunteer", subject=vol_b),
        "team lead a": bearer("team_lead", subject=vol_a),
        "admin a": admin_a,
        "verifier a": verifier_a,
        "admin b": bearer("org_admin", subject="admin-b", organisation_id=org_b),
        "verifier b": bearer("verifier", subject="verifier-b", organisation_id=org_b),
        "social worker b": bearer("social_worker", subject="sw-b", organisation_id=org_b),
        "admin without org": bearer("org_admin", subject="admin-x"),
        "operator": bearer("operator", subject="op"),
        "auditor": bearer("auditor", subject="aud"),
    }
    everyone = set(callers)
    # who may read what (certificate a: A's volunteer, issued by A; certificate b: B's volunteer, issued by A)
    allowed = {
        "record a": {"volunteer a", "team lead a", "admin a", "verifier a", "operator", "auditor"},
        "record b": {"volunteer b", "admin b", "verifier b", "social worker b", "operator", "auditor"},
        "certificate a": {"volunteer a", "team lead a", "admin a", "verifier a", "operator", "auditor"},
        "certificate b": {"volunteer b", "admin a", "verifier a", "admin b", "verifier b", "social worker b"}
        | {"operator", "auditor"},
    }
    paths = {
        "record a": [f"/hours/volunteers/{vol_a}/record", f"/hours/volunteers/{vol_a}/record?format=csv"],
        "record b": [f"/hours/volunteers/{vol_b}/record", f"/hours/volunteers/{vol_b}/record?format=csv"],
        "certificate a": [f"/hours/certificates/{certs['a']['id']}", f"/hours/certificates/{certs['a']['id']}/pdf"],
        "certificate b": [f"/hours/certificates/{certs['b']['id']}", f"/hours/certificates/{certs['b']['id']}/pdf"],
    }
    wrong = []
    for thing, readers in allowed.items():
        for caller in sorted(everyone):
            for path in paths[thing]:
                r = requests.get(api + path, headers=callers[caller], timeout=10)
                expected = 200 if caller in readers else 403
                if r.status_code != expected:
                    wrong.append((thing, caller, path, r.status_code, r.text[:160]))
                elif expected == 403:
                    # a refusal is a problem, and carries nothing of the volunteer
                    if not r.headers["Content-Type"].startswith("application/problem+json") or "志愿者" in r.text:
                        wrong.append((thing, caller, path, "leaks", r.text[:160]))
    assert wrong == []

    # five-star selection too: only the volunteer's own organisation (or the operator)
    selection = f"{api}/hours/volunteers/{vol_b}/selection"
    r = requests.put(selection, json={"selected": True}, headers={**admin_a, "If-Match": "*"}, timeout=10)
    assert r.status_code == 403 and r.headers["Content-Type"].startswith("application/problem+json"), r.text
    assert http.get(selection).json()["selected"] is False
    r = requests.put(selection, json={"selected": True}, headers={**callers["admin b"], "If-Match": "*"}, timeout=10)
    assert r.status_code == 200 and http.get(selection).json()["selected"] is True, r.text

    # an unknown volunteer or certificate is 404 for staff as for anyone
    missing = "00000000-0000-4000-8000-000000000000"
    assert requests.get(f"{api}/hours/volunteers/{missing}/record", headers=admin_a).status_code == 404
    assert requests.get(f"{api}/hours/certificates/{missing}", headers=admin_a).status_code == 404
    # the public check needs no credentials
    check = requests.get(f"{api}/hours/certificates/verify", params={"number": certs["b"]["number"]}, timeout=10)
    assert check.status_code == 200 and check.json()["valid"] is True
