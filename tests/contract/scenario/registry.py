"""The registry's step."""

from __future__ import annotations

from typing import Any

from tests.contract.scenario.client import Api


def _id_number(serial: int) -> str:
    from services.registry.id_numbers import id_check_digit

    first17 = f"51012419800101{serial:03d}"
    return first17 + id_check_digit(first17)


def registry_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """Places, organisations, a team, volunteers, memberships, a unit, an update, a
    deactivation and a member leaving: every registry event type."""
    places: dict[str, str] = {}
    for code, level, parent in [
        ("PD", "district", None),
        ("PD-01", "street", "PD"),
        ("PD-01-01", "community", "PD-01"),
        ("PD-01-01-G1", "grid", "PD-01-01"),
    ]:
        places[code] = api.post(
            "/places", {"code": code, "name": code, "level": level, "parent_id": places.get(parent)}
        )["id"]
    community = places["PD-01-01"]
    organisations = {}
    for code, kind, where in [
        ("PD-SEC", "government_sector", None),
        ("PD-SWA", "social_work_agency", community),
        ("PD-VOL", "volunteer_organisation", community),
        ("PD-SBJ", "community_partner", None),
    ]:
        organisations[code] = api.post(
            "/organisations",
            {
                "code": code,
                "name": code,
                "kind": kind,
                "community_id": where,
                "covers": [community],
                "services": ["locksmith"],
            },
        )["id"]
    api.post(
        "/cadres",
        {
            "code": "CADRE-1",
            "name": "网格干部",
            "organisation_id": organisations["PD-SEC"],
            "grid_ids": [places["PD-01-01-G1"]],
        },
    )
    team = api.post(
        "/teams",
        {
            "code": "SUN",
            "name": "阳光关爱志愿服务队",
            "organisation_id": organisations["PD-VOL"],
            "community_id": community,
            "skills": ["plumbing", "elder_care"],
        },
    )
    volunteers = [
        api.post(
            "/volunteers",
            {
                "name": f"志愿者{i}",
                "id_number": _id_number(100 + i),
                "phone": f"1381234{5670 + i}",
                "community_id": community,
                "skills": skills,
            },
        )["id"]
        for i, skills in enumerate([["plumbing"], ["elder_care", "first_aid"], ["plumbing"]])
    ]
    for volunteer in volunteers[:2]:
        api.post(f"/teams/{team['id']}/members", {"volunteer_id": volunteer})
    api.post(f"/teams/{team['id']}/members", {"volunteer_id": volunteers[2], "role": "lead"})
    api.post(
        "/units",
        {
            "name": "1+1+1+N",
            "community_id": community,
            "sector_id": organisations["PD-SEC"],
            "agency_id": organisations["PD-SWA"],
            "volunteer_organisation_id": organisations["PD-VOL"],
            "volunteer_ids": volunteers,
        },
    )
    api.patch(f"/volunteers/{volunteers[0]}", {"skills": ["plumbing", "electrics"]})
    api.patch(f"/volunteers/{volunteers[1]}", {"status": "suspended"})
    api.delete(f"/teams/{team['id']}/members/{volunteers[1]}")
    return {
        "communities": [community],
        "organisations": organisations,
        "partner": organisations["PD-SBJ"],
        "teams": [
            {
                "id": team["id"],
                "community_id": community,
                "organisation_id": organisations["PD-VOL"],
                "skills": team["skills"],
                "member_ids": [volunteers[0], volunteers[2]],
            }
        ],
        "volunteers": [volunteers[0], volunteers[2]],  # the active ones
    }
