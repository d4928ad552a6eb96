"""Residents' voice over HTTP through the gateway: a suggestion's full loop (collected
door to door, merged with a repeat, answered, turned into a fund request, linked both
ways), its overdue answer escalated, a mediation case from opening to the parties'
satisfaction, and the report by beneficiary group."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from tests.polling import wait_until
from tests.security.credentials import bearer
from tests.tickets.district import build, ticket_body


def _suggestion(community: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "community_id": community,
        "topic": "parking",
        "channel": "door_to_door",
        "content": "小区停车难，希望划设停车位",
        "resident": {"name": "王建华", "phone": "13900000011"},
    }
    return {**body, **overrides}


def test_a_suggestion_from_the_doorstep_to_the_fund(stack: Any, tap: Any, http: requests.Session) -> None:
    s = stack("registry", "tickets", "fund", "gateway")
    events = tap("tickets", "fund")
    with s.rpc("registry") as registry:
        district = build(registry)
    api = f"{s.url}/api/v1"
    community = district.community_id
    volunteer = bearer("volunteer", subject=district.members[0])

    # Door to door: a volunteer writes it down for the resident, whose data is masked.
    r = requests.post(f"{api}/suggestions", json=_suggestion(community), headers=volunteer)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["state"] == "open" and first["collected_by"] == district.members[0]
    assert first["residents"] == [
        {
            "resident_id": None,
            "name": "王**",
            "phone": "139****0011",
            "raised_in_id": first["id"],
            "raised_at": first["collected_at"],
        }
    ]
    due = datetime.fromisoformat(first["answer_due_at"]) - datetime.fromisoformat(first["collected_at"])
    assert due == timedelta(days=7)

    # The same point online, by a resident themself; a resident cannot claim a doorstep visit.
    resident = bearer("resident", subject="resident-li")
    online = _suggestion(community, channel="online", resident={"name": "李秀珍"}, content="晚上车位不够")
    r = requests.post(f"{api}/suggestions", json=online, headers=resident)
    assert r.status_code == 201, r.text
    repeat = r.json()
    assert repeat["residents"][0]["resident_id"] == "resident-li"
    r = requests.post(f"{api}/suggestions", json=_suggestion(community), headers=resident)
    assert r.status_code == 422 and "channel" in r.text
    r = requests.post(f"{api}/suggestions", json=_suggestion(community, topic="flying_cars"), headers=volunteer)
    assert r.status_code == 422 and "topic" in r.text

    # Merged: every resident who raised the point is kept on the first.
    r = http.post(f"{api}/suggestions/{repeat['id']}/merge", json={"into_id": first["id"]})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["id"] == first["id"]
    assert [p["name"] for p in merged["residents"]] == ["王**", "李**"]
    assert http.get(f"{api}/suggestions/{repeat['id']}").json()["merged_into_id"] == first["id"]
    r = http.post(f"{api}/suggestions/{repeat['id']}/merge", json={"into_id": first["id"]})
    assert r.status_code == 409 and "suggestion_id" in r.text
    # The online resident follows the point into the suggestion it joined, and sees no one else's contact.
    mine = requests.get(f"{api}/suggestions", headers=resident).json()["items"]
    assert [m["id"] for m in mine] == [first["id"]]
    seen = requests.get(f"{api}/suggestions/{first['id']}", headers=resident).json()
    assert {p["phone"] for p in seen["residents"]} == {None}
    other = bearer("resident", subject="resident-zhao")
    assert requests.get(f"{api}/suggestions/{first['id']}", headers=other).status_code == 403
    assert (
        requests.post(f"{api}/suggestions/{first['id']}/answer", json={"answer": "x"}, headers=volunteer).status_code
        == 403
    )

    # Answered within the deadline.
    r = http.post(f"{api}/suggestions/{first['id']}/answer", json={"answer": "社区将用社区基金划设停车位"})
    assert r.status_code == 200, r.text
    answered = r.json()
    assert answered["state"] == "answered" and answered["answered_at"] <= answered["answer_due_at"]
    assert http.post(f"{api}/suggestions/{first['id']}/answer", json={"answer": "again"}).status_code == 409

    # Turned into a fund request: the request names the suggestion, the suggestion shows the request.
    social_worker = bearer("social_worker", subject="sw-1", organisation_id=district.team["organisation_id"])
    elsewhere = bearer("social_worker", subject="sw-2", organisation_id=str(uuid.uuid4()))  # serves other communities
    assert requests.get(f"{api}/suggestions/{first['id']}", headers=elsewhere).status_code == 403
    assert requests.get(f"{api}/suggestions", headers=elsewhere).json()["items"] == []
    body = {"category": "new_community_space", "amount": "12000.00", "purpose": "划设 20 个停车位"}
    r = requests.post(f"{api}/suggestions/{first['id']}/fund-requests", json=body, headers=social_worker)
    assert r.status_code == 201, r.text
    disbursement = r.json()["disbursement"]
    assert disbursement["suggestion_id"] == first["id"] and disbursement["community_id"] == community
    assert disbursement["amount_fen"] == 1_200_000
    shown = http.get(f"{api}/suggestions/{first['id']}").json()
    assert [(link["kind"], link["target_id"]) for link in shown["links"]] == [("fund_disbursement", disbursement["id"])]
    assert shown["acted_at"] is not None
    assert http.get(f"{api}/fund/disbursements/{disbursement['id']}").json()["suggestion_id"] == first["id"]
    r = requests.post(
        f"{api}/suggestions/{first['id']}/fund-requests", json={**body, "amount": "-1"}, headers=social_worker
    )
    assert r.status_code == 422 and "amount" in r.text
    r = requests.post(f"{api}/suggestions/{first['id']}/fund-requests", json=body, headers=elsewhere)
    assert r.status_code == 403 and "suggestion_id" in r.text
    # A request that names a suggestion that does not exist is refused, and nothing is written.
    before = http.get(f"{api}/fund/disbursements").json()["items"]
    missing = "00000000-0000-4000-8000-000000000000"
    bad = {**body, "community_id": community, "suggestion_id": missing}
    r = http.post(f"{api}/fund/disbursements", json=bad)
    assert r.status_code == 404 and "suggestion_id" in r.text
    assert http.get(f"{api}/fund/disbursements").json()["items"] == before
    # A link to a fund request that answers something else is refused.
    plain = http.post(f"{api}/fund/disbursements", json={**body, "community_id": community}).json()
    r = http.post(
        f"{api}/suggestions/{first['id']}/links", json={"kind": "fund_disbursement", "target_id": plain["id"]}
    )
    assert r.status_code == 422 and "target_id" in r.text

    # A ticket too, linked by id.
    ticket = http.post(f"{api}/tickets", json=ticket_body(district)).json()
    r = http.post(f"{api}/suggestions/{first['id']}/links", json={"kind": "ticket", "target_id": ticket["id"]})
    assert r.status_code == 200 and {link["kind"] for link in r.json()["links"]} == {"fund_disbursement", "ticket"}

    month = datetime.now(timezone.utc).strftime("%Y-%m")
    report = http.get(f"{api}/suggestions/report", params={"from_month": month, "to_month": month}).json()["items"]
    assert report == [
        {
            "community_id": community,
            "topic": "parking",
            "month": month,
            "collected": 2,
            "residents": 2,
            "merged": 1,
            "answered": 1,
            "answered_on_time": 1,
            "acted_on": 1,
            "median_hours_to_answer": 0,
        }
    ]
    assert requests.get(f"{api}/suggestions/report", headers=volunteer).status_code == 403

    events.wait_for("suggestion.linked", 2)
    assert len(events.wait_for("suggestion.collected", 2)) == 2
    assert events.wait_for("suggestion.merged")[0]["data"]["residents"] == 2
    assert events.wait_for("suggestion.answered")[0]["data"]["on_time"] is True
    requested = [e["data"] for e in events.wait_for("disbursement.requested", 2)]
    assert {e.get("suggestion_id") for e in requested} == {first["id"], None}
    assert "王" not in str(events.messages) and "13900000011" not in str(events.messages)


def test_an_unanswered_suggestion_escalates(stack: Any, tap: Any, http: requests.Session) -> None:
    s = stack(
        "registry", "tickets", "gateway", TICKETS_SUGGESTION_ANSWER_DAYS=1 / 86400, TICKETS_SUGGESTION_INTERVAL=0.3
    )
    events = tap("tickets")
    with s.rpc("registry") as registry:
        district = build(registry)
    api = f"{s.url}/api/v1"
    late = http.post(f"{api}/suggestions", json=_suggestion(district.community_id)).json()
    escalated = wait_until(
        lambda: http.get(f"{api}/suggestions/{late['id']}").json()["escalated_at"], 10, "the suggestion escalated"
    )
    assert escalated >= late["answer_due_at"]
    # escalated once: one event id (delivery is at least once, so a relayed copy of the
    # same event may arrive too; consumers drop it by its id)
    escalations = {e["id"]: e["data"]["suggestion_id"] for e in events.wait_for("suggestion.escalated")}
    assert list(escalations.values()) == [late["id"]]
    answered = http.post(f"{api}/suggestions/{late['id']}/answer", json={"answer": "已处理"}).json()
    assert answered["state"] == "answered"
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    row = http.get(f"{api}/suggestions/report", params={"from_month": month}).json()["items"][0]
    assert row["answered"] == 1 and row["answered_on_time"] == 0
    assert len(events.of_type("suggestion.escalated")) == 1  # once, however many sweeps ran


def test_a_group_dispute_mediated_to_the_parties_satisfaction(stack: Any, tap: Any, http: requests.Session) -> None:
    s = stack("registry", "tickets", "gateway")
    events = tap("tickets")
    with s.rpc("registry") as registry:
        district = build(registry)
    api = f"{s.url}/api/v1"
    mediator = bearer("social_worker", subject=district.members[0])
    case_body = {
        "community_id": district.community_id,
        "social_worker_id": district.members[0],
        "summary": "装修噪音：一户与楼下多户居民",
        "parties": [{"name": "刘德华", "people": 1}, {"name": "楼下住户代表", "people": 40}, {"name": "物业"}],
    }
    assert requests.post(f"{api}/mediation-cases", json=case_body, headers=bearer("volunteer")).status_code == 403
    r = requests.post(
        f"{api}/mediation-cases", json={**case_body, "parties": case_body["parties"][:1]}, headers=mediator
    )
    assert r.status_code == 422 and "parties" in r.text
    r = requests.post(f"{api}/mediation-cases", json=case_body, headers=mediator)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["street_id"] == district.street_id and case["state"] == "open"
    assert [(p["number"], p["name"], p["people"]) for p in case["parties"]] == [
        (1, "刘**", 1),
        (2, "楼*****", 40),
        (3, "物*", 1),
    ]

    held = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    for minutes in (60, 45):
        r = requests.post(
            f"{api}/mediation-cases/{case['id']}/sessions", json={"held_at": held, "minutes": minutes}, headers=mediator
        )
        assert r.status_code == 200, r.text
    assert [x["minutes"] for x in r.json()["sessions"]] == [60, 45]

    close = {
        "outcome": "agreement",
        "satisfaction": [{"party": 1, "rating": 3}, {"party": 2, "rating": 5}, {"party": 3, "rating": 4}],
    }
    r = requests.post(f"{api}/mediation-cases/{case['id']}/close", json={**close, "outcome": "shrug"}, headers=mediator)
    assert r.status_code == 422 and "outcome" in r.text
    r = requests.post(
        f"{api}/mediation-cases/{case['id']}/close",
        json={**close, "satisfaction": [{"party": 9, "rating": 5}]},
        headers=mediator,
    )
    assert r.status_code == 409 and "satisfaction" in r.text
    assert http.get(f"{api}/mediation-cases/{case['id']}").json()["state"] == "open"  # nothing half-written
    stranger = bearer("social_worker", subject="sw-elsewhere", organisation_id=str(uuid.uuid4()))
    assert requests.get(f"{api}/mediation-cases/{case['id']}", headers=stranger).status_code == 403
    r = requests.post(f"{api}/mediation-cases/{case['id']}/close", json=close, headers=stranger)
    assert r.status_code == 403 and "case_id" in r.text
    r = requests.post(f"{api}/mediation-cases", json=case_body, headers=stranger)  # names someone else
    assert r.status_code == 403 and "community_id" in r.text
    r = requests.post(f"{api}/mediation-cases/{case['id']}/close", json=close, headers=mediator)
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["state"] == "closed" and closed["outcome"] == "agreement"
    assert [p["rating"] for p in closed["parties"]] == [3, 5, 4]
    assert closed["satisfaction_rate"] == round(41 / 42, 4)  # weighted by the people each party speaks for
    assert requests.post(f"{api}/mediation-cases/{case['id']}/close", json=close, headers=mediator).status_code == 409

    month = datetime.now(timezone.utc).strftime("%Y-%m")
    report = http.get(f"{api}/mediation-cases/report", params={"street_id": district.street_id}).json()["items"]
    assert report == [
        {
            "street_id": district.street_id,
            "month": month,
            "cases": 1,
            "people": 42,
            "outcomes": {"agreement": 1, "referral": 0, "withdrawn": 0},
            "satisfaction_rate": round(41 / 42, 4),
        }
    ]
    opened = events.wait_for("mediation.opened")[0]["data"]
    assert opened["parties"] == 3 and opened["people"] == 42
    assert events.wait_for("mediation.closed")[0]["data"]["outcome"] == "agreement"
    assert "刘德华" not in str(events.messages)


def test_reports_by_beneficiary_group(stack: Any, http: requests.Session) -> None:
    s = stack("registry", "tickets", "gateway")
    with s.rpc("registry") as registry:
        district = build(registry)
    api = f"{s.url}/api/v1"
    r = http.post(f"{api}/tickets", json=ticket_body(district, beneficiary_groups=["pensioners"]))
    assert r.status_code == 422 and "beneficiary_groups" in r.text
    elderly = ["elderly_living_alone"]
    opened = [
        http.post(f"{api}/tickets", json=ticket_body(district, resident_id=who, beneficiary_groups=groups)).json()
        for who, groups in (
            ("grandma-li", elderly),
            ("grandma-li", elderly),
            ("grandpa-wu", elderly + ["people_in_difficulty"]),
            ("rider-chen", ["new_employment_workers"]),
            ("someone", []),
        )
    ]
    assert opened[2]["beneficiary_groups"] == ["elderly_living_alone", "people_in_difficulty"]
    http.post(f"{api}/tickets/{opened[3]['id']}/cancel", json={})  # a cancelled ticket served nobody
    team = district.team["id"]
    http.post(f"{api}/tickets/{opened[0]['id']}/assign", json={"team_id": team, "volunteer_ids": district.members[:1]})
    http.post(f"{api}/tickets/{opened[0]['id']}/start", json={})
    r = http.post(
        f"{api}/tickets/{opened[0]['id']}/resolve",
        json={"volunteers": [{"volunteer_id": district.members[0], "minutes": 30}]},
    )
    assert r.status_code == 200, r.text
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    report = http.get(f"{api}/tickets/report/beneficiary-groups", params={"from_month": month}).json()["items"]
    assert report == [
        {"group": "elderly_living_alone", "month": month, "services": 3, "completed": 1, "reach": 2},
        {"group": "people_in_difficulty", "month": month, "services": 1, "completed": 0, "reach": 1},
    ]
    r = http.get(f"{api}/tickets/report/beneficiary-groups", params={"from_month": "2026-13"})
    assert r.status_code == 422 and "from_month" in r.text
    assert requests.get(f"{api}/tickets/report/beneficiary-groups", headers=bearer("resident")).status_code == 403
