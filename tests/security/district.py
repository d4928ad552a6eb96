"""A small district for the security tests: places, two volunteer organisations with a
team each, the unit partners, and two volunteers, one of each organisation (A's leads
team A, B's is in team B)."""

from __future__ import annotations

from typing import Any

from services.gateway.routing import API_PREFIX
from services.registry.id_numbers import id_check_digit
from tests.harness import wait_until


def id_number(serial: int) -> str:
    first17 = f"51012419850101{serial:03d}"
    return first17 + id_check_digit(first17)


PHONES = {1: "13912345678", 2: "15887654321"}


def seed(http: Any, url: str) -> dict[str, str]:
    """Create the district through the API (as the operator ``http`` is) and return its ids."""
    ids: dict[str, str] = {}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = http.post(f"{url}/api/v1{path}", json=body)
        assert r.status_code == 201, (path, r.status_code, r.text)
        return r.json()

    for key, level, parent in [
        ("district", "district", None),
        ("street", "street", "district"),
        ("community", "community", "street"),
    ]:
        ids[key] = post("/places", {"code": f"S-{key}", "name": key, "level": level, "parent_id": ids.get(parent)})[
            "id"
        ]
    for key, kind in [
        ("org_a", "volunteer_organisation"),
        ("org_b", "volunteer_organisation"),
        ("sector", "government_sector"),
        ("agency", "social_work_agency"),
    ]:
        ids[key] = post(
            "/organisations", {"code": f"S-{key}", "name": key, "kind": kind, "community_id": ids["community"]}
        )["id"]
    for key, org in [("team_a", "org_a"), ("team_b", "org_b")]:
        ids[key] = post(
            "/teams",
            {
                "code": f"S-{key}",
                "name": key,
                "organisation_id": ids[org],
                "community_id": ids["community"],
                "skills": ["plumbing"],
            },
        )["id"]
    for n, (key, team, role) in enumerate([("volunteer_a", "team_a", "lead"), ("volunteer_b", "team_b", "member")], 1):
        ids[key] = post(
            "/volunteers",
            {
                "name": f"志愿者{n}",
                "id_number": id_number(n),
                "phone": PHONES[n],
                "community_id": ids["community"],
                "organisation_id": ids[team.replace("team", "org")],
                "skills": ["plumbing"],
            },
        )["id"]
        post(f"/teams/{ids[team]}/members", {"volunteer_id": ids[key], "role": role})
    ids["unit"] = post(
        "/units",
        {
            "name": "1+1+1+N",
            "community_id": ids["community"],
            "sector_id": ids["sector"],
            "agency_id": ids["agency"],
            "volunteer_organisation_id": ids["org_a"],
            "volunteer_ids": [ids["volunteer_a"]],
        },
    )["id"]
    return ids


def hours_district(stack: Any, http: Any) -> tuple[str, dict[str, str]]:
    """Registry, hours and the gateway with the district seeded, once hours has both
    volunteers from the registry's events: the API base and the district's ids."""
    s = stack("registry", "hours", "gateway", RATE_LIMIT_PER_MINUTE=100_000)
    ids = seed(http, s.url)
    api = s.url + API_PREFIX
    wait_until(
        lambda: all(
            http.get(f"{api}/hours/volunteers/{ids[v]}/totals").status_code == 200
            for v in ("volunteer_a", "volunteer_b")
        ),
        what="hours knows the volunteers",
    )
    return api, ids
