"""The registry's part of the demo district: Pidu (郫都区) as its own account of its work
names it, and only that. The places, organisations, teams and projects are real; every
person is invented.

- 团结街道 学府社区 府河阳光小区, with the 阳光关爱志愿服务队 and its everyday requests;
- 郫筒街道 奎星楼社区, with the 银龄先锋老党员工作室 (home health visits) and the 益路童行
  project for children in difficulty;
- 德源街道 红旗社区, with 成都市业业兴商业运营管理有限公司 running the 菁蓉夜市;
- 金仪社区 with 仪家人物业, the community-owned property manager;
- the 十八匠 small-repair brand; the university volunteer alliance (西南交大, 西华大学);
  the 郫都区农产品供应链协会 professional volunteer team; 东林村 and 广福村.

The account names no street for 金仪社区, 东林村 and 广福村; the demo files them under
德源街道. Each community and village has one grid (微网格) with its party-member cadre,
and every ticket category's skill is offered by a team that serves 学府社区."""

from __future__ import annotations

from typing import Any

from services.registry.id_numbers import id_check_digit

STREETS = [("PD-TJ", "团结街道"), ("PD-PT", "郫筒街道"), ("PD-DY", "德源街道")]
# (code, name, level, street code)
COMMUNITIES = [
    ("PD-TJ-XF", "学府社区", "community", "PD-TJ"),
    ("PD-PT-KXL", "奎星楼社区", "community", "PD-PT"),
    ("PD-DY-HQ", "红旗社区", "community", "PD-DY"),
    ("PD-DY-JY", "金仪社区", "community", "PD-DY"),
    ("PD-DY-DL", "东林村", "village", "PD-DY"),
    ("PD-DY-GF", "广福村", "village", "PD-DY"),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢"
GIVEN = ["秀英", "桂兰", "建国", "志强", "丽华", "明", "芳", "伟", "敏", "静", "磊", "洋"]


def demo_id_number(serial: int) -> str:
    first17 = f"510124199{serial % 10}0101{serial:04d}"[:17]
    return first17 + id_check_digit(first17)


def person(serial: int) -> str:
    """An invented name."""
    return SURNAMES[serial % len(SURNAMES)] + GIVEN[(serial * 7) % len(GIVEN)]


def load(api: Any, context: dict[str, Any]) -> dict[str, Any]:
    district = api.post("/places", {"code": "PD", "name": "郫都区", "level": "district"})
    streets = {
        code: api.post("/places", {"code": code, "name": name, "level": "street", "parent_id": district["id"]})
        for code, name in STREETS
    }
    places: dict[str, str] = {}
    grids: dict[str, str] = {}
    for code, name, level, street in COMMUNITIES:
        places[code] = api.post(
            "/places", {"code": code, "name": name, "level": level, "parent_id": streets[street]["id"]}
        )["id"]
        grids[code] = api.post(
            "/places", {"code": code + "-G1", "name": name + "第一网格", "level": "grid", "parent_id": places[code]}
        )["id"]
    compound = api.post(
        "/places",
        {"code": "PD-TJ-XF-G1-FHYG", "name": "府河阳光小区", "level": "compound", "parent_id": grids["PD-TJ-XF"]},
    )
    xuefu, kuixinglou, hongqi, jinyi = (places[c] for c in ("PD-TJ-XF", "PD-PT-KXL", "PD-DY-HQ", "PD-DY-JY"))
    everywhere = list(places.values())

    organisations: dict[str, str] = {}
    for code, name, kind, community, extra in [
        ("GOV-TJ", "团结街道办事处", "government_sector", None, {}),
        ("GOV-PT", "郫筒街道办事处", "government_sector", None, {}),
        ("GOV-DY", "德源街道办事处", "government_sector", None, {}),
        ("RC-HQ", "红旗社区居民委员会", "residents_committee", hongqi, {}),
        ("VO-YGGA", "阳光关爱志愿服务队", "volunteer_organisation", xuefu, {}),
        ("VO-YLXF", "银龄先锋老党员工作室", "volunteer_organisation", kuixinglou, {}),
        ("SWA-YLTX", "益路童行", "social_work_agency", kuixinglou, {}),
        ("VO-GXLM", "高校志愿服务联盟", "volunteer_organisation", None, {}),
        ("UNI-SWJTU", "西南交通大学", "university", None, {}),
        ("UNI-XHU", "西华大学", "university", None, {}),
        ("VO-NCP", "郫都区农产品供应链协会", "volunteer_organisation", None, {}),
        (
            "SE-YYX",
            "成都市业业兴商业运营管理有限公司",
            "social_enterprise",
            hongqi,
            {"services": ["night_market", "errands"]},
        ),
        ("PM-YJR", "仪家人物业", "property_manager", jinyi, {"services": ["plumbing", "locksmith", "property_repair"]}),
        (
            "CP-SBJ",
            "十八匠",
            "community_partner",
            None,
            {"services": ["plumbing", "locksmith", "small_repair"], "district_wide": True},
        ),
    ]:
        organisations[code] = api.post(
            "/organisations", {"code": code, "name": name, "kind": kind, "community_id": community, **extra}
        )["id"]

    volunteers: list[dict[str, Any]] = []
    # (community, skills, certified social worker, party member) per invented volunteer
    plan = (
        [(xuefu, ["errands", "plumbing", "locksmith"], False, i % 3 == 0) for i in range(6)]
        + [(xuefu, ["mediation", "child_protection"], True, False) for _ in range(2)]
        + [(kuixinglou, ["elder_care", "first_aid"], False, True) for _ in range(4)]
        + [(kuixinglou, ["child_protection", "mediation"], True, False) for _ in range(2)]
        + [(hongqi, ["errands"], False, i == 0) for i in range(2)]
        + [
            (jinyi, ["plumbing"], False, True),
            (places["PD-DY-DL"], ["farming"], False, True),
            (places["PD-DY-GF"], ["farming"], False, True),
        ]
        + [(xuefu, ["community_affairs", "errands"], False, False) for _ in range(3)]
        + [(xuefu, ["labour_rights"], False, False) for _ in range(2)]
    )
    for serial, (community, skills, social_worker, party) in enumerate(plan, start=1):
        volunteer = api.post(
            "/volunteers",
            {
                "name": person(serial),
                "id_number": demo_id_number(serial),
                "phone": f"139{serial:08d}",
                "community_id": community,
                "skills": skills,
                "party_member": party,
                "certifications": [{"kind": "certified_social_worker"}] if social_worker else [],
            },
        )
        volunteers.append(volunteer)
    ids = [v["id"] for v in volunteers]

    teams = []
    # (code, name, organisation, home, skills, professional, domain, members, covers, district-wide)
    for code, name, org, home, skills, professional, domain, members, covers, district_wide in [
        (
            "T-YGGA",
            "阳光关爱志愿服务队",
            "VO-YGGA",
            xuefu,
            ["errands", "plumbing", "locksmith", "mediation"],
            False,
            None,
            ids[0:6],
            [],
            False,
        ),
        (
            "T-YLXF",
            "银龄先锋老党员工作室",
            "VO-YLXF",
            kuixinglou,
            ["elder_care", "first_aid"],
            False,
            None,
            ids[8:12],
            [xuefu],
            False,
        ),
        (
            "T-YLTX",
            "益路童行",
            "SWA-YLTX",
            kuixinglou,
            ["child_protection", "mediation"],
            True,
            "child_protection",
            ids[6:8] + ids[12:14],
            everywhere,
            False,
        ),
        (
            "T-GXLM",
            "高校志愿服务联盟",
            "VO-GXLM",
            xuefu,
            ["community_affairs", "errands"],
            False,
            None,
            ids[19:22],
            [],
            True,
        ),
        (
            "T-NCP",
            "郫都区农产品供应链协会专业志愿服务队",
            "VO-NCP",
            places["PD-DY-DL"],
            ["labour_rights", "farming"],
            True,
            "agricultural_supply_chain",
            ids[22:24],
            [],
            True,
        ),
    ]:
        team = api.post(
            "/teams",
            {
                "code": code,
                "name": name,
                "organisation_id": organisations[org],
                "community_id": home,
                "skills": skills,
                "professional": professional,
                "domain": domain,
                "covers": [c for c in covers if c != home],
                "district_wide": district_wide,
            },
        )
        for n, vid in enumerate(members):
            api.post(f"/teams/{team['id']}/members", {"volunteer_id": vid, "role": "lead" if n == 0 else "member"})
        teams.append(
            {
                "id": team["id"],
                "code": code,
                "community_id": home,
                "organisation_id": organisations[org],
                "skills": skills,
                "member_ids": members,
            }
        )

    for community, sector, vol_org, unit_volunteers in [
        (xuefu, "GOV-TJ", "VO-YGGA", ids[0:3] + ids[6:8]),
        (kuixinglou, "GOV-PT", "VO-YLXF", ids[8:10] + ids[12:14]),
    ]:
        api.post(
            "/units",
            {
                "name": "1+1+1+N",
                "community_id": community,
                "sector_id": organisations[sector],
                "agency_id": organisations["SWA-YLTX"],
                "volunteer_organisation_id": organisations[vol_org],
                "volunteer_ids": unit_volunteers,
            },
        )

    # One party-member cadre on each grid: volunteers where one lives there, else street staff.
    party = {v["community_id"]: v["id"] for v in reversed(volunteers) if v["party_member"]}
    street_office = {"PD-TJ": "GOV-TJ", "PD-PT": "GOV-PT", "PD-DY": "GOV-DY"}
    cadres = []
    for serial, (code, _name, _, street) in enumerate(COMMUNITIES, start=100):
        cadres.append(
            api.post(
                "/cadres",
                {
                    "code": f"CADRE-{code}",
                    "name": person(serial),
                    "organisation_id": organisations[street_office[street]],
                    "volunteer_id": party.get(places[code]),
                    "grid_ids": [grids[code]],
                },
            )["id"]
        )
    return {
        "communities": [xuefu, kuixinglou, hongqi, jinyi, places["PD-DY-DL"], places["PD-DY-GF"]],
        "places": places,
        "grids": grids,
        "grid_of": {places[c]: grids[c] for c in places},
        "compound": compound["id"],
        "organisations": organisations,
        "teams": teams,
        "volunteers": ids,
        "cadres": cadres,
        "night_market": {
            "community_id": hongqi,
            "owner_organisation_id": organisations["RC-HQ"],
            "organisation_id": organisations["SE-YYX"],
            "name": "成都市业业兴商业运营管理有限公司",
            "code": "SE-YYX",
        },
        "partners": {"十八匠": organisations["CP-SBJ"], "仪家人物业": organisations["PM-YJR"]},
    }
