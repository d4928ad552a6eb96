"""A tiny district in the registry for ticket tests: one community, a professional team
with two active members and a suspended one, and a volunteer outside the team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from services.registry.id_numbers import id_check_digit


def id_number(serial: int) -> str:
    first17 = f"51012419850101{serial:03d}"
    return first17 + id_check_digit(first17)


@dataclass
class District:
    community_id: str
    street_id: str
    team: dict[str, Any]
    plain_team: dict[str, Any]
    members: list[str]
    suspended: str
    outsider: str


def build(registry: Any) -> District:
    """Seed through the registry's RPC interface."""
    district = registry.create_place({"code": "PD", "name": "郫都区", "level": "district"})
    street = registry.create_place(
        {"code": "PD-01", "name": "犀浦街道", "level": "street", "parent_id": district["id"]}
    )
    community = registry.create_place(
        {"code": "PD-01-01", "name": "犀安社区", "level": "community", "parent_id": street["id"]}
    )
    org = registry.create_organisation({"code": "AGY", "name": "社工机构", "kind": "social_work_agency"})
    team = registry.create_team(
        {
            "code": "PRO",
            "name": "专业社工队",
            "organisation_id": org["id"],
            "community_id": community["id"],
            "professional": True,
            "domain": "mediation",
            "skills": ["plumbing", "locksmith", "mediation"],
        }
    )
    plain = registry.create_team(
        {
            "code": "SUN",
            "name": "阳光志愿服务队",
            "organisation_id": org["id"],
            "community_id": community["id"],
            "skills": ["plumbing"],
        }
    )
    volunteers = [
        registry.register_volunteer({"name": f"志愿者{i}", "id_number": id_number(i), "community_id": community["id"]})[
            "id"
        ]
        for i in range(4)
    ]
    for vid in volunteers[:3]:
        registry.add_member(team["id"], {"volunteer_id": vid})
    registry.add_member(plain["id"], {"volunteer_id": volunteers[0]})
    registry.update_volunteer(volunteers[2], {"status": "suspended"})
    return District(community["id"], street["id"], team, plain, volunteers[:2], volunteers[2], volunteers[3])


def ticket_body(district: District, **overrides: Any) -> dict[str, Any]:
    """A valid blocked-drain ticket reported 90 minutes ago by phone."""
    reported = datetime.now(timezone.utc) - timedelta(minutes=90)
    body = {
        "category_code": "blocked_drain",
        "community_id": district.community_id,
        "channel": "hotline",
        "resident_id": "resident-1",
        "resident_name": "张秀英",
        "resident_phone": "13912345678",
        "address": "犀安路18号3栋2单元",
        "description": "厨房下水道堵塞",
        "attributes": {"location": "kitchen"},
        "reported_at": reported.isoformat(),
    }
    body.update(overrides)
    return body


PERSONAL = ("张秀英", "13912345678", "犀安路18号")
