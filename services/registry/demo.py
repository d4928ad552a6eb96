"""The registry's part of the demo district: a district in Pidu with two streets, four
communities, the 1+1+1+N partners, three teams and a dozen volunteers."""

from __future__ import annotations

from typing import Any

from services.registry.id_numbers import id_check_digit

COMMUNITIES = [("PD-AJ-01", "安靖社区"), ("PD-AJ-02", "龙梓社区"), ("PD-HY-01", "合兴社区"), ("PD-HY-02", "红旗社区")]
SKILLS = ["elder_care", "plumbing", "locksmith", "bill_payment", "mediation", "first_aid", "child_care"]


def demo_id_number(serial: int) -> str:
    first17 = f"510124199{serial % 10}0101{serial:04d}"[:17]
    return first17 + id_check_digit(first17)


def load(api: Any, context: dict[str, Any]) -> dict[str, Any]:
    district = api.post("/places", {"code": "PD", "name": "郫都区", "level": "district"})
    streets = {code: api.post("/places", {"code": code, "name": name, "level": "street", "parent_id": district["id"]})
               for code, name in [("PD-AJ", "安靖街道"), ("PD-HY", "红光街道")]}
    communities = []
    for code, name in COMMUNITIES:
        place = api.post("/places", {"code": code, "name": name, "level": "community",
                                     "parent_id": streets[code[:5]]["id"]})
        api.post("/places", {"code": code + "-C1", "name": name + "一号小区", "level": "compound", "parent_id": place["id"]})
        communities.append(place["id"])
    organisations = {}
    for code, name, kind, community in [
        ("SEC-CIVIL", "区民政局", "government_sector", None),
        ("AGY-SUN", "阳光社会工作服务中心", "social_work_agency", None),
        ("VOL-PD", "郫都志愿者协会", "volunteer_organisation", None),
        ("UNI-ALLIANCE", "高校志愿服务联盟", "university", None),
        ("RC-AJ01", "安靖社区居委会", "residents_committee", communities[0]),
        ("SE-NIGHT", "安靖夜市运营公司", "social_enterprise", communities[0]),
    ]:
        organisations[code] = api.post("/organisations", {"code": code, "name": name, "kind": kind,
                                                          "community_id": community})["id"]
    volunteers = []
    for i in range(12):
        volunteer = api.post("/volunteers", {
            "name": f"志愿者{i + 1:02d}", "id_number": demo_id_number(i + 1), "phone": f"139{i + 1:08d}",
            "community_id": communities[i % len(communities)], "skills": [SKILLS[i % len(SKILLS)], SKILLS[(i + 3) % len(SKILLS)]],
            "certifications": [{"kind": "certified_social_worker"}] if i % 4 == 0 else [],
            "party_member": i % 3 == 0})
        volunteers.append(volunteer["id"])
    teams = []
    for code, name, community, skills, professional, domain in [
        ("T-SUN", "阳光关爱志愿服务队", communities[0], ["elder_care", "bill_payment", "plumbing", "locksmith", "child_care"], False, None),
        ("T-MEDIATE", "邻里调解队", communities[0], ["mediation"], True, "dispute_mediation"),
        ("T-RESCUE", "应急救援队", communities[2], ["first_aid"], True, "emergency_rescue"),
    ]:
        team = api.post("/teams", {"code": code, "name": name, "organisation_id": organisations["VOL-PD"],
                                   "community_id": community, "skills": skills, "professional": professional,
                                   "domain": domain})
        members = volunteers[len(teams) * 4:len(teams) * 4 + 4]
        for n, vid in enumerate(members):
            api.post(f"/teams/{team['id']}/members", {"volunteer_id": vid, "role": "lead" if n == 0 else "member"})
        teams.append({"id": team["id"], "community_id": community, "organisation_id": organisations["VOL-PD"],
                      "skills": skills, "member_ids": members})
    api.post("/units", {"name": "安靖社区 1+1+1+N", "community_id": communities[0], "sector_id": organisations["SEC-CIVIL"],
                        "agency_id": organisations["AGY-SUN"], "volunteer_organisation_id": organisations["VOL-PD"],
                        "volunteer_ids": volunteers[:6]})
    return {"communities": communities, "organisations": organisations, "teams": teams, "volunteers": volunteers}
