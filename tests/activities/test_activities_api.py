"""An activity's whole life over HTTP, on SQLite and PostgreSQL: a project, sign-ups with
a waiting list that moves up, check-in by the organiser and by code, no-shows, closing
with beneficiary visits; the attendees' hours recorded against the organising
organisation and verified by someone who neither organised nor attended; the day rules
for every source; training and a commendation in the national record; the reports."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from services.district import LOCAL_TIME
from tests.harness import wait_until
from tests.security.credentials import bearer
from tests.tickets.district import build


def _at(day: Any, clock: str) -> str:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), LOCAL_TIME).isoformat()


def test_an_activity_from_publishing_to_verified_hours(stack: Any, http: Any, tap: Any) -> None:
    s = stack("registry", "activities", "hours", "gateway")
    events = tap("activities")
    with s.rpc("registry") as registry:
        district = build(registry)
        v0, v1 = district.members
        v2 = district.outsider
        for volunteer in (v0, v1, v2):  # the activity below requires tutoring
            registry.update_volunteer(volunteer, {"skills": ["tutoring"]})
    api = f"{s.url}/api/v1"
    organisation = district.team["organisation_id"]
    organiser = bearer("org_admin", subject="organiser-li", organisation_id=organisation)
    day = (datetime.now(LOCAL_TIME) - timedelta(days=1)).date()

    r = http.post(
        f"{api}/projects",
        headers=organiser,
        json={
            "name": "益路童行",
            "agency_id": organisation,
            "organisation_ids": [organisation],
            "service_domain": "child_care",
            "community_ids": [district.community_id],
            "beneficiary_groups": ["children_in_difficulty"],
            "starts_on": (day - timedelta(days=30)).isoformat(),
            "ends_on": (day + timedelta(days=300)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["indicators"] == {
        "activities": 0,
        "beneficiary_visits": 0,
        "volunteers": 0,
        "attended_minutes": 0,
        "verified_minutes": 0,
    }

    body = {
        "organisation_id": organisation,
        "project_id": project["id"],
        "title": "困境儿童课业辅导",
        "place": "社区儿童之家",
        "community_id": district.community_id,
        "starts_at": _at(day, "09:00"),
        "ends_at": _at(day, "12:00"),
        "capacity": 2,
        "required_skills": ["tutoring"],
    }
    for bad, field in (({"ends_at": _at(day, "08:00")}, "ends_at"), ({"capacity": 0}, "capacity")):
        r = http.post(f"{api}/activities", headers=organiser, json={**body, **bad})
        assert r.status_code == 422 and field in r.text, r.text
    r = http.post(
        f"{api}/activities", headers=bearer("org_admin", "other", "00000000-0000-0000-0000-000000000001"), json=body
    )
    assert r.status_code == 403 and "organisation_id" in r.text
    r = http.post(f"{api}/activities", headers=organiser, json=body)
    assert r.status_code == 201, r.text
    activity = r.json()["id"]
    path = f"{api}/activities/{activity}"

    def sign_up(volunteer: str) -> Any:
        return http.post(f"{path}/sign-ups", headers=bearer("volunteer", volunteer), json={"volunteer_id": volunteer})

    assert [sign_up(v).json()["status"] for v in (v0, v1, v2)] == ["confirmed", "confirmed", "waiting"]
    r = sign_up(v1)
    assert r.status_code == 409 and "volunteer_id" in r.text
    r = http.post(f"{path}/sign-ups", headers=bearer("volunteer", v0), json={"volunteer_id": v2})
    assert r.status_code == 403 and "volunteer_id" in r.text
    r = http.post(f"{path}/sign-ups", headers=bearer("volunteer", v0), json={"volunteer_id": "nobody"})
    assert r.status_code == 422 and "volunteer_id" in r.text
    r = http.post(f"{path}/cancellations", headers=bearer("volunteer", v0), json={"volunteer_id": v0})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    statuses = {x["volunteer_id"]: x["status"] for x in http.get(f"{path}/sign-ups").json()["items"]}
    assert statuses == {v0: "cancelled", v1: "confirmed", v2: "confirmed"}  # the waiting list moved up
    assert sign_up(v0).json()["status"] == "waiting"  # back of the line

    # the organiser checks in and out; a volunteer cannot check others in; a code after the end is refused
    r = http.post(f"{path}/check-ins", headers=bearer("volunteer", v1), json={"volunteer_id": v1})
    assert r.status_code == 403
    r = http.post(f"{path}/check-ins", headers=organiser, json={"volunteer_id": v1, "at": _at(day, "09:05")})
    assert r.status_code == 200, r.text
    r = http.post(f"{path}/check-outs", headers=organiser, json={"volunteer_id": v1, "at": _at(day, "11:40")})
    assert r.status_code == 200, r.text
    r = http.post(f"{path}/check-ins", headers=organiser, json={"volunteer_id": v2, "at": _at(day, "08:50")})
    assert r.status_code == 200
    r = http.post(f"{path}/check-ins", headers=organiser, json={"volunteer_id": v0})
    assert r.status_code == 409 and "volunteer_id" in r.text  # waiting, not confirmed
    r = http.post(f"{path}/close", headers=organiser, json={"beneficiary_visits": -1})
    assert r.status_code == 422 and "beneficiary_visits" in r.text
    r = http.post(f"{path}/close", headers=organiser, json={"beneficiary_visits": 40})
    assert r.status_code == 200 and r.json()["state"] == "closed", r.text
    assert sign_up(v0).status_code == 409  # closed
    [closed] = events.wait_for("activity.closed")
    assert (closed["data"]["attended"], closed["data"]["beneficiary_visits"]) == (2, 40)

    def entries(volunteer: str | None = None) -> list[dict[str, Any]]:
        params = {"volunteer_id": volunteer} if volunteer else {}
        return [
            e for e in http.get(f"{api}/hours/entries", params=params).json()["items"] if e["source"] == "attendance"
        ]

    recorded = wait_until(lambda: entries() if len(entries()) == 2 else [], 20, what="attendance in the ledger")
    by_volunteer = {e["volunteer_id"]: e for e in recorded}
    assert {v: (e["minutes"], e["status"], e["organisation_id"]) for v, e in by_volunteer.items()} == {
        v1: (155, "pending", organisation),
        v2: (180, "pending", organisation),  # from the start, not the early check-in; to the end
    }
    # someone else's word: not the organiser, not an attendee
    organiser_as_verifier = bearer("verifier", "organiser-li", organisation)
    attendee_as_verifier = bearer("verifier", v1, organisation)
    for headers in (organiser_as_verifier, attendee_as_verifier):
        r = http.post(f"{api}/hours/entries/{by_volunteer[v2]['id']}/verify", headers=headers)
        assert r.status_code == 403 and "entry_id" in r.text, r.text
    verifier = bearer("verifier", "verifier-zhou", organisation)
    for volunteer in (v1, v2):
        r = http.post(f"{api}/hours/entries/{by_volunteer[volunteer]['id']}/verify", headers=verifier)
        assert r.status_code == 200 and r.json()["status"] == "verified", r.text

    def indicators() -> dict[str, int]:
        found: dict[str, int] = http.get(f"{api}/projects/{project['id']}").json()["indicators"]
        return found if found["verified_minutes"] == 335 else {}

    assert wait_until(indicators, 20, what="verified minutes in the project") == {
        "activities": 1,
        "beneficiary_visits": 40,
        "volunteers": 2,
        "attended_minutes": 335,
        "verified_minutes": 335,
    }

    # the same volunteer's overlapping time from another activity is recorded as rejected
    r = http.post(f"{api}/activities", headers=organiser, json={**body, "project_id": None, "title": "重叠活动"})
    overlapping = r.json()["id"]
    assert sign_up_to(http, api, overlapping, v1).status_code == 200
    http.post(
        f"{api}/activities/{overlapping}/check-ins",
        headers=organiser,
        json={"volunteer_id": v1, "at": _at(day, "11:00")},
    )
    assert (
        http.post(
            f"{api}/activities/{overlapping}/close", headers=organiser, json={"beneficiary_visits": 0}
        ).status_code
        == 200
    )
    rejected = wait_until(lambda: [e for e in entries(v1) if e["status"] == "rejected"], 20, what="the overlap refused")
    assert rejected[0]["minutes"] == 60

    # a training session, a commendation, and the national record
    r = http.post(
        f"{api}/activities",
        headers=organiser,
        json={
            **body,
            "kind": "training",
            "title": "儿童保护培训",
            "starts_at": _at(day, "14:00"),
            "ends_at": _at(day, "16:00"),
        },
    )
    training = r.json()["id"]
    assert sign_up_to(http, api, training, v1).status_code == 200
    http.post(
        f"{api}/activities/{training}/check-ins", headers=organiser, json={"volunteer_id": v1, "at": _at(day, "14:00")}
    )
    assert (
        http.post(f"{api}/activities/{training}/close", headers=organiser, json={"beneficiary_visits": 0}).status_code
        == 200
    )
    award = {
        "volunteer_id": v1,
        "organisation_id": organisation,
        "title": "优秀志愿者",
        "level": "district",
        "awarded_on": day.isoformat(),
        "awarding_body": "郫都区志愿服务联合会",
    }
    r = http.post(f"{api}/commendations", headers=bearer("org_admin", v1, organisation), json=award)
    assert r.status_code == 403 and "volunteer_id" in r.text  # nobody commends themselves
    r = http.post(f"{api}/commendations", headers=organiser, json={**award, "level": "galactic"})
    assert r.status_code == 422 and "level" in r.text
    assert http.post(f"{api}/commendations", headers=organiser, json=award).status_code == 201

    def record() -> dict[str, Any]:
        found: dict[str, Any] = http.get(f"{api}/hours/volunteers/{v1}/record").json()
        kinds = {c["kind"] for c in found["commendations"]}
        return found if "commendation" in kinds and any(t["kind"] == "training" for t in found["training"]) else {}

    national = wait_until(record, 20, what="training and commendation in the record")
    [session] = [t for t in national["training"] if t["kind"] == "training"]
    assert (session["title"], session["minutes"], session["organisation_id"]) == ("儿童保护培训", 120, organisation)
    [commendation] = [c for c in national["commendations"] if c["kind"] == "commendation"]
    assert (commendation["title"], commendation["award_level"]) == ("优秀志愿者", "district")
    assert [x["minutes"] for x in national["service"]] == [155]
    csv_text = http.get(f"{api}/hours/volunteers/{v1}/record", params={"format": "csv"}).text
    assert "儿童保护培训" in csv_text and "优秀志愿者" in csv_text

    # reports
    month = datetime.combine(day, time(12), LOCAL_TIME).strftime("%Y-%m")
    report = http.get(f"{api}/projects/{project['id']}/report").json()
    assert [(m["month"], m["activities"], m["verified_minutes"]) for m in report["months"]] == [
        (month, 2, 335)
    ]  # with the training
    group = http.get(f"{api}/activities/reports/organisations", params={"organisation_ids": organisation}).json()
    assert group["indicators"]["activities"] == 3 and group["indicators"]["verified_minutes"] == 335
    r = http.get(f"{api}/activities/reports/organisations", params={"organisation_ids": "x,y"})
    assert r.status_code == 422 and "organisation_ids" in r.text
    rows = http.get(f"{api}/activities/reports/communities").json()["items"]
    assert [(x["community_id"], x["month"], x["activities"], x["beneficiary_visits"]) for x in rows] == [
        (district.community_id, month, 3, 40)
    ]
    groups = http.get(f"{api}/activities/reports/beneficiary-groups").json()["items"]
    assert [(g["beneficiary_group"], g["projects"], g["activities"], g["beneficiary_visits"]) for g in groups] == [
        ("children_in_difficulty", 1, 2, 40)
    ]
    counts = http.get(
        f"{api}/activities/indicator-counts", params={"from": day.isoformat(), "to": day.isoformat()}
    ).json()
    assert counts == {"projects": 1, "activities": 3, "beneficiary_visits": 40}


def sign_up_to(http: Any, api: str, activity: str, volunteer: str) -> Any:
    return http.post(
        f"{api}/activities/{activity}/sign-ups",
        headers=bearer("volunteer", volunteer),
        json={"volunteer_id": volunteer},
    )


def test_a_check_in_code_is_short_lived_and_only_checks_in_yourself(stack: Any, http: Any) -> None:
    s = stack("activities", "gateway")
    api = f"{s.url}/api/v1"
    organisation, volunteer = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
    organiser = bearer("team_lead", "lead-wang", organisation)
    now = datetime.now(timezone.utc)
    midnight = datetime.combine(now.astimezone(LOCAL_TIME).date(), time(0), LOCAL_TIME)
    starts, ends = (
        max(midnight, now - timedelta(minutes=30)),
        min(midnight + timedelta(days=1), now + timedelta(minutes=30)),
    )
    r = http.post(
        f"{api}/activities",
        headers=organiser,
        json={
            "organisation_id": organisation,
            "title": "河道清洁",
            "place": "清水河",
            "community_id": "33333333-3333-3333-3333-333333333333",
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "capacity": 5,
            "open_to": ["volunteer"],
        },
    )
    assert r.status_code == 201, r.text
    activity = r.json()["id"]
    path = f"{api}/activities/{activity}"
    r = http.post(f"{path}/sign-ups", headers=bearer("social_worker", volunteer), json={"volunteer_id": volunteer})
    assert r.status_code == 403  # open to volunteers only
    assert sign_up_to(http, api, activity, volunteer).status_code == 200
    r = http.post(
        f"{path}/code-check-ins",
        headers=bearer("volunteer", volunteer),
        json={"volunteer_id": volunteer, "code": "123456"},
    )
    assert r.status_code == 409 and "code" in r.text  # none handed out yet
    r = http.post(f"{path}/check-in-code", headers=bearer("volunteer", volunteer))
    assert r.status_code == 403
    code = http.post(f"{path}/check-in-code", headers=organiser).json()
    assert len(code["code"]) == 6 and code["expires_at"]
    wrong = "0" * 6 if code["code"] != "0" * 6 else "1" * 6
    r = http.post(
        f"{path}/code-check-ins",
        headers=bearer("volunteer", volunteer),
        json={"volunteer_id": volunteer, "code": wrong},
    )
    assert r.status_code == 409 and "code" in r.text
    r = http.post(
        f"{path}/code-check-ins",
        headers=bearer("volunteer", "someone"),
        json={"volunteer_id": volunteer, "code": code["code"]},
    )
    assert r.status_code == 403 and "volunteer_id" in r.text
    r = http.post(
        f"{path}/code-check-ins",
        headers=bearer("volunteer", volunteer),
        json={"volunteer_id": volunteer, "code": code["code"]},
    )
    assert r.status_code == 200 and r.json()["checked_in_at"], r.text
    r = http.post(f"{path}/no-shows", headers=organiser, json={"volunteer_id": volunteer})
    assert r.status_code == 409  # checked in: not a no-show
