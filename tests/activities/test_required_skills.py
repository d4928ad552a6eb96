"""Required skills are enforced at sign-up, over HTTP through the gateway: the activities
service asks the registry for the volunteer's skills; a volunteer lacking one is refused
with a 409 naming ``required_skills`` and nothing is written (no sign-up, no place taken,
no event); once the registry holds the skill, the same volunteer signs up."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from services.district import LOCAL_TIME
from tests.security.credentials import bearer
from tests.tickets.district import build


def test_a_volunteer_without_a_required_skill_cannot_sign_up(stack: Any, http: Any, tap: Any) -> None:
    s = stack("registry", "activities", "gateway")
    events = tap("activities")
    with s.rpc("registry") as registry:
        district = build(registry)
        qualified, lacking = district.members
        registry.update_volunteer(qualified, {"skills": ["child_protection", "first_aid", "tutoring"]})
        registry.update_volunteer(lacking, {"skills": ["first_aid"]})
    api = f"{s.url}/api/v1"
    organisation = district.team["organisation_id"]
    organiser = bearer("org_admin", subject="organiser-li", organisation_id=organisation)
    day = (datetime.now(LOCAL_TIME) + timedelta(days=3)).date()
    r = http.post(
        f"{api}/activities",
        headers=organiser,
        json={
            "organisation_id": organisation,
            "title": "困境儿童暑期安全课堂",
            "place": "社区儿童之家",
            "community_id": district.community_id,
            "starts_at": datetime.combine(day, time(9), LOCAL_TIME).isoformat(),
            "ends_at": datetime.combine(day, time(12), LOCAL_TIME).isoformat(),
            "capacity": 5,
            "required_skills": ["child_protection", "first_aid"],
        },
    )
    assert r.status_code == 201, r.text
    path = f"{api}/activities/{r.json()['id']}"

    def sign_up(volunteer: str) -> Any:
        return http.post(f"{path}/sign-ups", headers=bearer("volunteer", volunteer), json={"volunteer_id": volunteer})

    r = sign_up(lacking)
    assert r.status_code == 409, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "required_skills", "detail": "lacks child_protection"}]
    nobody = str(uuid.uuid4())  # not in the registry: nobody's skills to check
    r = http.post(f"{path}/sign-ups", json={"volunteer_id": nobody})
    assert r.status_code == 404 and "volunteer_id" in r.text, r.text

    # nothing written: no sign-up, no place taken, no event
    assert http.get(f"{path}/sign-ups").json()["items"] == []
    activity = http.get(path).json()
    assert (activity["confirmed"], activity["waiting"]) == (0, 0)

    r = sign_up(qualified)
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    [signed] = events.wait_for("activity.signed_up")
    assert signed["data"]["volunteer_id"] == qualified

    # the registry's current answer counts: with the skill added, the refused volunteer gets in
    with s.rpc("registry") as registry:
        registry.update_volunteer(lacking, {"skills": ["child_protection", "first_aid"]})
    r = sign_up(lacking)
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    assert {x["volunteer_id"] for x in http.get(f"{path}/sign-ups").json()["items"]} == {qualified, lacking}
    assert [e["data"]["volunteer_id"] for e in events.wait_for("activity.signed_up", 2)] == [qualified, lacking]
