"""The district's structure in the registry: the place hierarchy's parent-level rule,
grids and their cadres, partners and coverage, dispatch candidates, the certified
social worker an escalation names, and the bulk import of the structure."""

from __future__ import annotations

from typing import Any

import pytest

from services.registry.id_numbers import id_check_digit
from services.registry.places import LEVELS, PARENT_LEVELS, parent_problem
from yilin.errors import InvalidInput, NotFound


def id_number(serial: int) -> str:
    first17 = f"51012419900101{serial:03d}"
    return first17 + id_check_digit(first17)


@pytest.mark.parametrize(
    "level, parent, ok",
    [
        ("district", None, True),
        ("district", "district", False),
        ("street", "district", True),
        ("town", "district", True),
        ("street", None, False),
        ("town", "street", False),
        ("community", "street", True),
        ("community", "town", True),
        ("village", "town", True),
        ("village", "district", False),
        ("community", None, False),
        ("grid", "community", True),
        ("grid", "village", True),
        ("grid", "street", False),
        ("compound", "grid", True),
        ("compound", "community", False),
        ("compound", None, False),
    ],
)
def test_parent_level_rule(level: str, parent: str | None, ok: bool) -> None:
    assert (parent_problem(level, parent) is None) is ok


def test_every_level_but_the_district_has_a_parent_level() -> None:
    assert set(PARENT_LEVELS) == set(LEVELS)
    assert [lvl for lvl in LEVELS if not PARENT_LEVELS[lvl]] == ["district"]


def _places(registry: Any) -> dict[str, dict[str, Any]]:
    p: dict[str, dict[str, Any]] = {}
    p["district"] = registry.create_place({"code": "PD", "name": "郫都区", "level": "district"})
    p["street"] = registry.create_place(
        {"code": "DY", "name": "德源街道", "level": "street", "parent_id": p["district"]["id"]}
    )
    p["town"] = registry.create_place(
        {"code": "DT", "name": "唐昌镇", "level": "town", "parent_id": p["district"]["id"]}
    )
    p["community"] = registry.create_place(
        {"code": "HQ", "name": "红旗社区", "level": "community", "parent_id": p["street"]["id"]}
    )
    p["village"] = registry.create_place(
        {"code": "DL", "name": "东林村", "level": "village", "parent_id": p["town"]["id"]}
    )
    p["grid"] = registry.create_place(
        {"code": "HQ-G1", "name": "红旗一网格", "level": "grid", "parent_id": p["community"]["id"]}
    )
    p["compound"] = registry.create_place(
        {"code": "HQ-G1-C1", "name": "红旗小区", "level": "compound", "parent_id": p["grid"]["id"]}
    )
    return p


def test_places_grids_cadres_candidates_and_social_worker(stack: Any) -> None:
    s = stack("registry")
    with s.rpc("registry") as registry:
        p = _places(registry)
        # the parent level is enforced over RPC, naming the field
        for level, parent in [
            ("compound", "community"),
            ("grid", "street"),
            ("village", "district"),
            ("community", "town"),
            ("street", None),
        ]:
            body = {
                "code": f"X-{level}-{parent}",
                "name": "x",
                "level": level,
                "parent_id": p[parent]["id"] if parent else None,
            }
            if (level, parent) == ("community", "town"):
                assert registry.create_place(body)["level"] == "community"
                continue
            with pytest.raises(InvalidInput) as err:
                registry.create_place(body)
            assert "parent_id" in err.value.fields
        community, village, grid = p["community"]["id"], p["village"]["id"], p["grid"]["id"]

        sector = registry.create_organisation({"code": "SEC", "name": "区民政局", "kind": "government_sector"})
        agency = registry.create_organisation({"code": "AGY", "name": "社工中心", "kind": "social_work_agency"})
        vol_org = registry.create_organisation({"code": "VOL", "name": "志愿者协会", "kind": "volunteer_organisation"})
        # a cadre is a party member, placed on grids only
        cadre_vol = registry.register_volunteer(
            {"name": "党员甲", "id_number": id_number(1), "community_id": community, "party_member": True}
        )
        plain_vol = registry.register_volunteer({"name": "群众乙", "id_number": id_number(2), "community_id": village})
        cadre = registry.create_cadre(
            {
                "code": "CD-1",
                "name": "干部甲",
                "organisation_id": sector["id"],
                "volunteer_id": cadre_vol["id"],
                "grid_ids": [grid],
            }
        )
        assert cadre["party_member"] and cadre["grid_ids"] == [grid]
        with pytest.raises(InvalidInput) as err:
            registry.create_cadre(
                {
                    "code": "CD-2",
                    "name": "x",
                    "organisation_id": sector["id"],
                    "volunteer_id": plain_vol["id"],
                    "grid_ids": [grid],
                }
            )
        assert "volunteer_id" in err.value.fields
        with pytest.raises(InvalidInput) as err:
            registry.create_cadre(
                {"code": "CD-3", "name": "x", "organisation_id": sector["id"], "grid_ids": [community]}
            )
        assert "grid_ids" in err.value.fields
        assert registry.get_grid(grid) == {
            "id": grid,
            "code": "HQ-G1",
            "name": "红旗一网格",
            "community_id": community,
            "cadre_ids": [cadre["id"]],
        }
        assert [c["id"] for c in registry.list_cadres({"grid_id": grid})["items"]] == [cadre["id"]]

        # teams and partners: home, declared coverage, district-wide; never without the skill
        registry.create_team(
            {
                "code": "T-HOME",
                "name": "本社区队",
                "organisation_id": vol_org["id"],
                "community_id": community,
                "skills": ["plumbing"],
            }
        )
        near = registry.create_team(
            {
                "code": "T-NEAR",
                "name": "邻村队",
                "organisation_id": vol_org["id"],
                "community_id": village,
                "skills": ["plumbing"],
                "covers": [community],
            }
        )
        assert near["covers"] == [community]
        rescue = registry.create_team(
            {
                "code": "T-RESCUE",
                "name": "应急救援队",
                "organisation_id": vol_org["id"],
                "community_id": village,
                "skills": ["first_aid"],
                "professional": True,
                "domain": "emergency_rescue",
                "district_wide": True,
            }
        )
        registry.create_team(
            {
                "code": "T-OTHER",
                "name": "无关队",
                "organisation_id": vol_org["id"],
                "community_id": village,
                "skills": ["plumbing"],
            }
        )
        registry.create_team(
            {
                "code": "T-NOSKILL",
                "name": "无技能队",
                "organisation_id": vol_org["id"],
                "community_id": community,
                "skills": ["elder_care"],
            }
        )
        partner = registry.create_organisation(
            {
                "code": "SBJ",
                "name": "十八匠",
                "kind": "community_partner",
                "services": ["plumbing", "locksmith"],
                "district_wide": True,
            }
        )
        with pytest.raises(InvalidInput) as err:
            registry.create_organisation({"code": "BAD", "name": "x", "kind": "community_partner", "covers": [grid]})
        assert "covers" in err.value.fields
        found = {c["code"]: c["coverage"] for c in registry.find_candidates(community, "plumbing")}
        assert found == {"T-HOME": "home", "T-NEAR": "covers", "SBJ": "district"}
        assert {c["code"] for c in registry.find_candidates(community, "emergency_rescue")} == {"T-RESCUE"}
        assert registry.get_partner(partner["id"])["services"] == ["locksmith", "plumbing"]
        with pytest.raises(InvalidInput):
            registry.get_partner(agency["id"])
        assert rescue["district_wide"]

        # escalation: a named certified social worker of the community's 1+1+1+N unit
        with pytest.raises(NotFound):
            registry.find_social_worker(community)
        worker = registry.register_volunteer(
            {
                "name": "王社工",
                "id_number": id_number(3),
                "community_id": community,
                "certifications": [{"kind": "certified_social_worker"}],
            }
        )
        unit = registry.form_unit(
            {
                "name": "红旗 1+1+1+N",
                "community_id": community,
                "sector_id": sector["id"],
                "agency_id": agency["id"],
                "volunteer_organisation_id": vol_org["id"],
                "volunteer_ids": [plain_vol["id"], worker["id"]],
            }
        )
        named = registry.find_social_worker(community)
        assert named == {
            "volunteer_id": worker["id"],
            "name": "王社工",
            "number": worker["number"],
            "unit_id": unit["id"],
            "source": "unit",
        }
        # after the unit's worker: one from the agency's teams
        agency_worker = registry.register_volunteer(
            {
                "name": "李社工",
                "id_number": id_number(4),
                "community_id": village,
                "certifications": [{"kind": "certified_social_worker"}],
            }
        )
        agency_team = registry.create_team(
            {
                "code": "T-AGY",
                "name": "社工队",
                "organisation_id": agency["id"],
                "community_id": village,
                "professional": True,
            }
        )
        registry.add_member(agency_team["id"], {"volunteer_id": agency_worker["id"]})
        fallback = registry.find_social_worker(community, [worker["id"]])
        assert (fallback["volunteer_id"], fallback["source"]) == (agency_worker["id"], "agency")

        counts = registry.counts()
        assert counts["places"]["grid"] == 1 and counts["places"]["village"] == 1
        assert counts["certified_social_workers"] == 2 and counts["partners"] == 1
        assert counts["cadres"] == counts["cadres_on_grids"] == 1


def test_structure_import_is_set_based_checked_and_rerunnable(stack: Any) -> None:
    s = stack("registry")
    places = [
        {"code": "PD", "name": "郫都区", "level": "district"},
        {"code": "TC", "name": "唐昌镇", "level": "town", "parent_code": "PD"},
        {"code": "GF", "name": "广福村", "level": "village", "parent_code": "TC"},
        {"code": "GF-G1", "name": "广福一网格", "level": "grid", "parent_code": "GF"},
        {"code": "BAD-1", "name": "x", "level": "compound", "parent_code": "GF"},  # not under a grid
        {"code": "BAD-2", "name": "x", "level": "grid", "parent_code": "NOWHERE"},
    ]
    organisations = [
        {"code": "SEC", "name": "区委组织部", "kind": "government_sector"},
        {
            "code": "P-1",
            "name": "伙伴一",
            "kind": "community_partner",
            "community_code": "GF",
            "services": ["plumbing"],
            "covers": [],
        },
        {"code": "P-2", "name": "伙伴二", "kind": "social_enterprise", "covers": ["GF-G1"]},
    ]
    teams = [
        {"code": "T-1", "name": "一队", "organisation_code": "SEC", "community_code": "GF", "skills": ["plumbing"]},
        {"code": "T-2", "name": "二队", "organisation_code": "NOPE", "community_code": "GF"},
    ]
    cadres = [
        {"code": "C-1", "name": "干部一", "organisation_code": "SEC", "grid_codes": ["GF-G1"]},
        {"code": "C-2", "name": "干部二", "organisation_code": "SEC", "grid_codes": ["GF"]},
    ]
    with s.rpc("registry") as registry:
        for attempt in range(2):
            result = registry.import_structure("places", places)
            assert [r["row"] for r in result["rejected"]] == [4, 5]
            assert "parent_code" in result["rejected"][0]["fields"]
            assert (result["created"], result["duplicates"]) == ((4, 0) if attempt == 0 else (0, 4))
            orgs = registry.import_structure("organisations", organisations)
            assert [r["row"] for r in orgs["rejected"]] == [2] and "covers" in orgs["rejected"][0]["fields"]
            team_result = registry.import_structure("teams", teams)
            assert [r["row"] for r in team_result["rejected"]] == [1]
            cadre_result = registry.import_structure("cadres", cadres)
            assert [r["row"] for r in cadre_result["rejected"]] == [1]
            assert cadre_result["created"] == (1 if attempt == 0 else 0)
        counts = registry.counts()
        assert counts["places"] == {"district": 1, "town": 1, "village": 1, "grid": 1}
        assert (counts["teams"], counts["partners"], counts["cadres_on_grids"]) == (1, 1, 1)
        grid = registry.get_grid(result["ids"]["GF-G1"])
        assert grid["community_id"] == result["ids"]["GF"] and len(grid["cadre_ids"]) == 1
        assert [c["code"] for c in registry.find_candidates(result["ids"]["GF"], "plumbing")] == ["T-1", "P-1"]
        with pytest.raises(InvalidInput) as err:
            registry.import_structure("volunteers", [])
        assert "kind" in err.value.fields
