"""Dispatch that finds the right hands: the ranking rules (skill, coverage, load, SLA
history, each with its reason), a partner-assigned ticket whose named volunteers earn
hours, escalation naming a certified social worker, and tickets carrying their grid."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from services.tickets.dispatch import SlaRecord, rank
from tests.harness import Stack, wait_until
from tests.tickets.district import id_number, ticket_body
from yilin.errors import InvalidInput

TEAMS = [
    {
        "kind": "team",
        "id": "a",
        "code": "A",
        "name": "甲队",
        "professional": False,
        "skills": ["plumbing"],
        "member_count": 5,
        "coverage": "home",
    },
    {
        "kind": "team",
        "id": "b",
        "code": "B",
        "name": "乙队",
        "professional": False,
        "skills": ["plumbing"],
        "member_count": 3,
        "coverage": "home",
    },
    {
        "kind": "team",
        "id": "c",
        "code": "C",
        "name": "丙队",
        "professional": True,
        "skills": ["elder_care"],
        "domain": "mediation",
        "member_count": 9,
        "coverage": "home",
    },
    {
        "kind": "partner",
        "id": "p",
        "code": "P",
        "name": "十八匠",
        "professional": False,
        "skills": ["plumbing"],
        "member_count": 0,
        "coverage": "district",
    },
]


def test_load_changes_the_ranking() -> None:
    idle = rank(TEAMS, "plumbing", False, {}, {})
    assert [r["code"] for r in idle] == ["A", "B", "P"]  # equal points: the bigger team first
    busy = rank(TEAMS, "plumbing", False, {"a": 1}, {})
    assert [r["code"] for r in busy] == ["B", "A", "P"]
    very_busy = rank(TEAMS, "plumbing", False, {"a": 5, "b": 4}, {})
    assert [r["code"] for r in very_busy][0] == "P"  # an idle district-wide partner beats loaded home teams
    first = busy[0]
    assert [reason.split(":")[0] for reason in first["reasons"]] == ["skill", "coverage", "load", "sla"]
    assert "load: 1 open ticket (-8)" in busy[1]["reasons"]


def test_a_candidate_without_the_skill_is_never_suggested() -> None:
    for loads in ({}, {"a": 50, "b": 50, "p": 50}):
        assert "C" not in [r["code"] for r in rank(TEAMS, "plumbing", False, loads, {})]
    assert [r["code"] for r in rank(TEAMS, "locksmith", False, {}, {})] == []
    # a professional domain counts as the skill; a ticket for a social worker excludes the rest
    assert [r["code"] for r in rank(TEAMS, "mediation", True, {}, {})] == ["C"]
    assert rank(TEAMS, "plumbing", True, {}, {}) == []


def test_sla_history_counts_once_there_is_enough() -> None:
    history = {"a": SlaRecord(finished=10, breached=10), "b": SlaRecord(finished=2, breached=2)}
    ranked = rank(TEAMS, "plumbing", False, {}, history)
    assert [r["code"] for r in ranked] == ["B", "P", "A"]
    assert "sla: 10 of 10 tickets late (-20)" in ranked[2]["reasons"]
    assert "too few to judge" in ranked[0]["reasons"][3]


@pytest.fixture
def world(make_config: Callable[..., dict[str, Any]], container_factory: Any, pg_url: str) -> Any:
    s = Stack.start(("registry", "tickets", "hours"), make_config(pg_url), container_factory)
    with s.rpc("registry") as registry:
        district = registry.create_place({"code": "PD", "name": "郫都区", "level": "district"})
        street = registry.create_place(
            {"code": "DY", "name": "德源街道", "level": "street", "parent_id": district["id"]}
        )
        community = registry.create_place(
            {"code": "HQ", "name": "红旗社区", "level": "community", "parent_id": street["id"]}
        )
        other = registry.create_place(
            {"code": "JY", "name": "金仪社区", "level": "community", "parent_id": street["id"]}
        )
        grid = registry.create_place({"code": "HQ-G1", "name": "一网格", "level": "grid", "parent_id": community["id"]})
        foreign_grid = registry.create_place(
            {"code": "JY-G1", "name": "金仪一网格", "level": "grid", "parent_id": other["id"]}
        )
        org = registry.create_organisation({"code": "VOL", "name": "志愿者协会", "kind": "volunteer_organisation"})
        sector = registry.create_organisation({"code": "SEC", "name": "民政局", "kind": "government_sector"})
        agency = registry.create_organisation({"code": "AGY", "name": "社工中心", "kind": "social_work_agency"})
        volunteers = [
            registry.register_volunteer(
                {"name": f"志愿者{i}", "id_number": id_number(i), "community_id": community["id"]}
            )["id"]
            for i in range(4)
        ]
        worker = registry.register_volunteer(
            {
                "name": "王社工",
                "id_number": id_number(9),
                "community_id": community["id"],
                "certifications": [{"kind": "certified_social_worker"}],
            }
        )
        registry.form_unit(
            {
                "name": "红旗 1+1+1+N",
                "community_id": community["id"],
                "sector_id": sector["id"],
                "agency_id": agency["id"],
                "volunteer_organisation_id": org["id"],
                "volunteer_ids": [worker["id"]],
            }
        )
        teams = {}
        for code, skills, home in [
            ("A", ["plumbing"], community),
            ("B", ["plumbing"], community),
            ("NOSKILL", ["elder_care"], community),
            ("FAR", ["plumbing"], other),
        ]:
            teams[code] = registry.create_team(
                {"code": code, "name": code, "organisation_id": org["id"], "community_id": home["id"], "skills": skills}
            )
        for code, vid in [("A", volunteers[0]), ("A", volunteers[1]), ("B", volunteers[2])]:
            registry.add_member(teams[code]["id"], {"volunteer_id": vid})
        partner = registry.create_organisation(
            {
                "code": "SBJ",
                "name": "十八匠",
                "kind": "community_partner",
                "services": ["plumbing", "locksmith"],
                "covers": [community["id"]],
            }
        )
    return {
        "stack": s,
        "community": community["id"],
        "grid": grid["id"],
        "foreign_grid": foreign_grid["id"],
        "teams": teams,
        "volunteers": volunteers,
        "partner": partner["id"],
        "worker": worker,
    }


def _body(world: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = ticket_body(type("D", (), {"community_id": world["community"]})(), **overrides)
    return body


def test_dispatch_partner_work_escalation_and_grid(world: dict[str, Any], tap: Any) -> None:
    events = tap("tickets")
    s: Stack = world["stack"]
    teams = world["teams"]
    with s.rpc("tickets") as tickets:
        first = tickets.open_ticket(_body(world, grid_id=world["grid"]))
        assert first["grid_id"] == world["grid"]
        with pytest.raises(InvalidInput) as err:
            tickets.open_ticket(_body(world, grid_id=world["foreign_grid"]))
        assert "grid_id" in err.value.fields

        suggested = tickets.suggest_teams(first["id"])
        codes = [item["code"] for item in suggested["items"]]
        assert codes == ["A", "B", "SBJ"]  # FAR serves another community; NOSKILL lacks the skill
        assert suggested["items"][2]["coverage"] == "covers" and suggested["items"][2]["partner_id"] == world["partner"]
        assert all(len(item["reasons"]) == 4 for item in suggested["items"])

        tickets.assign(first["id"], {"team_id": teams["A"]["id"], "volunteer_ids": [world["volunteers"][0]]})
        second = tickets.open_ticket(_body(world))
        after = [item["code"] for item in tickets.suggest_teams(second["id"])["items"]]
        assert after[0] == "B" and after.index("A") > 0  # A's open ticket moved it down
        assert "NOSKILL" not in after and "FAR" not in after

        # a partner's ticket: the partner's own work earns nothing, the named volunteer earns hours
        with pytest.raises(InvalidInput) as err:
            tickets.assign(
                second["id"],
                {
                    "team_id": teams["B"]["id"],
                    "partner_id": world["partner"],
                    "volunteer_ids": [world["volunteers"][2]],
                },
            )
        assert "team_id" in err.value.fields
        given = tickets.assign(
            second["id"], {"partner_id": world["partner"], "volunteer_ids": [world["volunteers"][3]]}
        )
        assert (given["team_id"], given["partner_id"]) == (None, world["partner"])
        tickets.start(second["id"], {})
        resolved = tickets.resolve(
            second["id"], {"volunteers": [{"volunteer_id": world["volunteers"][3], "minutes": 40}]}
        )
        assert resolved["state"] == "resolved"
        unpaid = tickets.open_ticket(_body(world, category_code="lost_key", attributes={}))
        tickets.assign(unpaid["id"], {"partner_id": world["partner"]})
        tickets.start(unpaid["id"], {})
        assert tickets.resolve(unpaid["id"], {"volunteers": []})["state"] == "resolved"
        assert [
            t["id"] for t in tickets.list_tickets({"partner_id": world["partner"], "limit": 10})["items"]
        ] == sorted([second["id"], unpaid["id"]])
        # the list page's plain read shows a ticket as its own read does, named volunteers too
        first_page = tickets.list_tickets({"partner_id": world["partner"], "limit": 1})
        (listed,) = first_page["items"]
        rest = tickets.list_tickets({"partner_id": world["partner"], "limit": 1, "cursor": first_page["next_cursor"]})
        assert rest["next_cursor"] is None and [listed["id"], rest["items"][0]["id"]] == sorted(
            [second["id"], unpaid["id"]]
        )
        shown = {t["id"]: t for t in (listed, *rest["items"])}
        assert shown[second["id"]] == tickets.get_ticket(second["id"])
        assert shown[second["id"]]["volunteers"] == [{"volunteer_id": world["volunteers"][3], "minutes": 40}]
        assert shown[unpaid["id"]] == tickets.get_ticket(unpaid["id"])

        # escalation names the community's certified social worker
        dispute = tickets.open_ticket(_body(world))
        escalated = tickets.escalate(dispute["id"], {"note": "需要社工"})
        assert escalated["social_worker"] == {"volunteer_id": world["worker"]["id"], "name": "王社工"}

        by_grid = tickets.report({"by": "grid"})
        grids = {row["grid_id"] for row in by_grid}
        assert world["grid"] in grids and None in grids
        assert sum(r["total"] for r in by_grid if r["grid_id"] == world["grid"]) == 1
        assert all("grid_id" not in row for row in tickets.report({}))

    assert events.wait_for("ticket.assigned")[0]["data"]["team_id"] == teams["A"]["id"]
    partner_assigned = events.wait_for("ticket.assigned_to_partner", 2)
    assert partner_assigned[0]["data"]["partner_id"] == world["partner"]
    assert partner_assigned[0]["data"]["volunteer_ids"] == [world["volunteers"][3]]
    resolved_events = events.wait_for("ticket.resolved_by_partner", 2)
    assert resolved_events[0]["data"]["volunteers"] == [{"volunteer_id": world["volunteers"][3], "minutes": 40}]
    assert events.of_type("ticket.resolved") == []
    assert events.wait_for("ticket.escalated")[0]["data"]["social_worker_id"] == world["worker"]["id"]
    assert events.wait_for("ticket.opened")[0]["data"]["grid_id"] == world["grid"]

    with s.rpc("hours") as hours:

        def entries() -> list[dict[str, Any]]:
            return hours.list_entries({"source_id": second["id"], "limit": 10})["items"]

        wait_until(lambda: len(entries()) == 1, 15, what="the partner ticket's volunteer entry")
        [entry] = entries()
        assert (entry["volunteer_id"], entry["minutes"], entry["status"]) == (world["volunteers"][3], 40, "pending")
        assert hours.list_entries({"source_id": unpaid["id"], "limit": 10})["items"] == []
