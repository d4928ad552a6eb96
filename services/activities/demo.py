"""The activities part of the demo district: the 益路童行 project at 奎星楼社区, led by the
益路童行 social-work agency with the 银龄先锋 volunteers; an afternoon of companionship
for children in difficulty that was held (sign-ups, a waiting list moved up, check-ins,
beneficiary visits), its hours verified by the agency's verifier; a coming activity with
a waiting list; a training session; and a commendation."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time, timedelta
from typing import Any

from services.district import LOCAL_TIME

WAIT_SECONDS = 30.0
ORGANISER, VERIFIER = "demo-yltx-organiser", "demo-yltx-verifier"


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), LOCAL_TIME).isoformat()


def _wait(check: Any, what: str) -> Any:
    deadline = clock.monotonic() + WAIT_SECONDS
    while True:
        found = check()
        if found:
            return found
        if clock.monotonic() > deadline:
            raise RuntimeError(f"demo: timed out waiting for {what}")
        clock.sleep(0.3)


def load(api: Any, context: dict[str, Any]) -> dict[str, Any]:
    organisations, places = context["organisations"], context["places"]
    agency, kuixinglou = organisations["SWA-YLTX"], places["PD-PT-KXL"]
    team = next(t for t in context["teams"] if t["organisation_id"] == agency)
    volunteers = team["member_ids"]
    organiser = api.as_identity("org_admin", ORGANISER, agency)
    today = datetime.now(LOCAL_TIME).date()
    project = organiser.post(
        "/projects",
        {
            "name": "益路童行 困境儿童关爱",
            "agency_id": agency,
            "organisation_ids": [organisations["VO-YLXF"]],
            "team_ids": [team["id"]],
            "service_domain": "child_care",
            "community_ids": [kuixinglou],
            "beneficiary_groups": ["children_in_difficulty"],
            "starts_on": date(today.year, 1, 1).isoformat(),
            "ends_on": date(today.year, 12, 31).isoformat(),
        },
    )

    def publish(kind: str, title: str, day: date, hours: tuple[int, int], capacity: int) -> str:
        return organiser.post(
            "/activities",
            {
                "organisation_id": agency,
                "project_id": project["id"],
                "kind": kind,
                "title": title,
                "place": "奎星楼社区儿童之家",
                "community_id": kuixinglou,
                "grid_id": (context.get("grid_of") or {}).get(kuixinglou),
                "starts_at": _at(day, hours[0]),
                "ends_at": _at(day, hours[1]),
                "capacity": capacity,
                "required_skills": ["child_protection"],
            },
        )["id"]

    def sign_up(activity: str, volunteer: str) -> dict[str, Any]:
        return api.as_identity("volunteer", volunteer).post(
            f"/activities/{activity}/sign-ups", {"volunteer_id": volunteer}
        )

    # held two days ago: four sign up for three places; one withdraws and the fourth moves up
    held_on = today - timedelta(days=2)
    held = publish("service", "困境儿童周末陪伴与课业辅导", held_on, (14, 17), 3)
    for volunteer in volunteers:
        sign_up(held, volunteer)
    api.as_identity("volunteer", volunteers[0]).post(
        f"/activities/{held}/cancellations", {"volunteer_id": volunteers[0]}
    )
    attendees = volunteers[1:4]
    for n, volunteer in enumerate(attendees):
        organiser.post(f"/activities/{held}/check-ins", {"volunteer_id": volunteer, "at": _at(held_on, 14, 5 * n)})
    organiser.post(f"/activities/{held}/check-outs", {"volunteer_id": attendees[0], "at": _at(held_on, 16, 30)})
    organiser.post(f"/activities/{held}/close", {"beneficiary_visits": 72})

    # a training session for the volunteers, three days ago
    trained_on = today - timedelta(days=3)
    training = publish("training", "困境儿童保护与个案发现培训", trained_on, (9, 11), 20)
    for volunteer in volunteers[:3]:
        sign_up(training, volunteer)
        organiser.post(f"/activities/{training}/check-ins", {"volunteer_id": volunteer, "at": _at(trained_on, 9)})
    organiser.post(f"/activities/{training}/close", {"beneficiary_visits": 0})

    # next week's activity is full, with a waiting list
    coming = publish("service", "困境儿童暑期安全课堂", today + timedelta(days=7), (9, 12), 2)
    for volunteer in volunteers[:3]:
        sign_up(coming, volunteer)

    organiser.post(
        "/commendations",
        {
            "volunteer_id": volunteers[1],
            "organisation_id": agency,
            "title": "优秀志愿者",
            "level": "district",
            "awarded_on": (today - timedelta(days=1)).isoformat(),
            "awarding_body": "郫都区志愿服务联合会",
        },
    )

    # the agency's verifier, who neither organised nor attended, verifies the hours
    def recorded() -> list[dict[str, Any]]:
        items = api.get("/hours/entries", params={"source": "attendance", "source_id": held, "limit": 50})["items"]
        return items if len(items) == len(attendees) else []

    verifier = api.as_identity("verifier", VERIFIER, agency)
    entries = [verifier.post(f"/hours/entries/{e['id']}/verify", {}) for e in _wait(recorded, "attendance hours")]
    return {
        "activities": {
            "project_id": project["id"],
            "held_activity_id": held,
            "training_activity_id": training,
            "coming_activity_id": coming,
            "agency_id": agency,
            "verified_entry_ids": [e["id"] for e in entries],
            "commended_volunteer_id": volunteers[1],
        }
    }
