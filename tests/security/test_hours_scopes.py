"""A volunteer's hours over HTTP (totals, entries, the five-star selection): the
volunteer reads their own, an organisation's staff those of their own organisation's
volunteers (and the entries their organisation recorded), the district's operator and
auditor anyone's; everyone else gets 403 and learns nothing. Expected outcomes are
written out per case, not derived from the rules under test."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.security.credentials import bearer
from tests.security.district import hours_district

MINUTES = {"a": 137, "b": 61}  # distinctive, so a leak of either is seen in any answer


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"  # the rules are above the database; one backend


def _record(api: str, headers: dict[str, str], ids: dict[str, str], org: str, volunteer: str, minutes: int) -> str:
    """Organisation ``org`` records and verifies ``minutes`` of ``volunteer``'s; the entry's id."""
    served_on = date.today() - timedelta(days=2)
    sheet = requests.post(
        f"{api}/hours/sheets",
        json={
            "organisation_id": ids[org],
            "activity": "敬老院探访",
            "served_on": served_on.isoformat(),
            "place": "敬老院",
            "community_id": ids["community"],
            "content": "陪伴老人",
            "entries": [{"volunteer_id": volunteer, "minutes": minutes}],
        },
        headers=headers,
        timeout=10,
    )
    assert sheet.status_code == 201, sheet.text
    entry_id: str = sheet.json()["entries"][0]["id"]
    verifier = bearer("verifier", subject=f"verifier-{org}", organisation_id=ids[org])
    assert requests.post(f"{api}/hours/entries/{entry_id}/verify", headers=verifier, timeout=10).status_code == 200
    return entry_id


def _beyond_the_request(problem: dict[str, Any], *values: str) -> bool:
    """Whether a refusal holds any of ``values`` anywhere but in the request's own path
    (``instance``, whose random ids may hold any digits)."""
    rest = str({k: v for k, v in problem.items() if k != "instance"})
    return any(value in rest for value in values)


def test_hours_reads_follow_the_volunteer(stack: Any, http: Any) -> None:
    api, ids = hours_district(stack, http)
    vol_a, vol_b, org_a, org_b = ids["volunteer_a"], ids["volunteer_b"], ids["org_a"], ids["org_b"]
    admin_a = bearer("org_admin", subject="admin-a", organisation_id=org_a)
    admin_b = bearer("org_admin", subject="admin-b", organisation_id=org_b)
    entry = {"a": _record(api, admin_a, ids, "org_a", vol_a, MINUTES["a"])}
    entry["b"] = _record(api, admin_b, ids, "org_b", vol_b, MINUTES["b"])
    # A enrols B's volunteer in its team: that makes their hours no more A's to read
    assert requests.post(f"{api}/teams/{ids['team_a']}/members", json={"volunteer_id": vol_b}, headers=admin_a).ok

    callers = {
        "volunteer a": bearer("volunteer", subject=vol_a),
        "volunteer b": bearer("volunteer", subject=vol_b),
        "team lead a": bearer("team_lead", subject=vol_a),
        "admin a": admin_a,
        "verifier a": bearer("verifier", subject="verifier-a", organisation_id=org_a),
        "social worker a": bearer("social_worker", subject="sw-a", organisation_id=org_a),
        "admin b": admin_b,
        "verifier b": bearer("verifier", subject="verifier-b", organisation_id=org_b),
        "admin without org": bearer("org_admin", subject="admin-x"),
        "operator": bearer("operator", subject="op"),
        "auditor": bearer("auditor", subject="aud"),
    }
    readers = {
        "a": {"volunteer a", "team lead a", "admin a", "verifier a", "social worker a", "operator", "auditor"},
        "b": {"volunteer b", "admin b", "verifier b", "operator", "auditor"},
    }
    volunteer = {"a": vol_a, "b": vol_b}
    wrong = []
    for key in ("a", "b"):
        other = "b" if key == "a" else "a"
        paths = [
            f"/hours/volunteers/{volunteer[key]}/totals",
            f"/hours/volunteers/{volunteer[key]}/totals?from=2020-01-01",
            f"/hours/entries/{entry[key]}",
        ]
        for caller, headers in sorted(callers.items()):
            for path in paths:
                r = requests.get(api + path, headers=headers, timeout=10)
                expected = 200 if caller in readers[key] else 403
                if r.status_code != expected:
                    wrong.append((caller, path, r.status_code, r.text[:160]))
                elif expected == 200 and str(MINUTES[key]) not in r.text:
                    wrong.append((caller, path, "without the minutes", r.text[:160]))
                elif expected == 403 and (
                    not r.headers["Content-Type"].startswith("application/problem+json")
                    or _beyond_the_request(r.json(), entry[key], str(MINUTES[key]))
                ):
                    wrong.append((caller, path, "leaks", r.text[:160]))
            # a list asked for this volunteer: all of theirs for a reader; for staff of
            # another organisation only what their own organisation recorded (here none);
            # another volunteer is refused
            r = requests.get(f"{api}/hours/entries", params={"volunteer_id": volunteer[key]}, headers=headers)
            listed = {e["id"] for e in r.json()["items"]} if r.status_code == 200 else None
            if caller in readers[key]:
                expected_list: set[str] | None = {entry[key]}
            elif caller in readers[other] and caller.startswith(("admin", "verifier", "social")):
                expected_list = set()
            else:
                expected_list = None  # 403
            if listed != expected_list:
                wrong.append((caller, "entries of", key, r.status_code, r.text[:160]))
    assert wrong == [], "\n".join(map(str, wrong))

    # an unfiltered list holds only what the caller may read
    def listed(caller: str) -> set[str]:
        r = requests.get(f"{api}/hours/entries", headers=callers[caller], timeout=10)
        assert r.status_code == 200, (caller, r.text)
        return {e["id"] for e in r.json()["items"]}

    assert listed("volunteer a") == listed("team lead a") == listed("admin a") == {entry["a"]}
    assert listed("volunteer b") == listed("verifier b") == {entry["b"]}
    assert listed("operator") == listed("auditor") == {entry["a"], entry["b"]}
    r = requests.get(f"{api}/hours/entries", headers=callers["admin without org"], timeout=10)
    assert r.status_code == 403, r.text

    # the five-star selection: the volunteer's own organisation's administrator or the operator
    for caller, expected in (("admin a", 200), ("operator", 200), ("admin b", 403), ("admin without org", 403)):
        r = requests.get(f"{api}/hours/volunteers/{vol_a}/selection", headers=callers[caller], timeout=10)
        assert r.status_code == expected, (caller, r.text)
        assert expected == 200 or not _beyond_the_request(r.json(), vol_a)

    # an unknown volunteer is 404 for staff as for the district
    missing = "00000000-0000-4000-8000-000000000000"
    for headers in (admin_a, callers["operator"]):
        assert requests.get(f"{api}/hours/volunteers/{missing}/totals", headers=headers).status_code == 404
