"""The activities service's step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.district import LOCAL_TIME
from tests.contract.scenario.client import Api


def activities_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """A project with an activity of one place: a sign-up, a waiting one moved up by a
    cancellation, a check-in and the close; a training session; a commendation: every
    activities event type."""
    from tests.security.credentials import bearer

    team = context["teams"][0]
    organisation, community = team["organisation_id"], team["community_id"]
    first, second = team["member_ids"][0], team["member_ids"][1]
    organiser = bearer("org_admin", "activities-organiser-he", organisation)
    day = (datetime.now(LOCAL_TIME) - timedelta(days=3)).date()

    def at(clock: str) -> str:
        return datetime.fromisoformat(f"{day.isoformat()}T{clock}:00+08:00").isoformat()

    project = api.post(
        "/projects",
        {
            "name": "益路童行",
            "agency_id": organisation,
            "organisation_ids": [organisation],
            "service_domain": "child_care",
            "community_ids": [community],
            "beneficiary_groups": ["children_in_difficulty"],
            "starts_on": day.isoformat(),
            "ends_on": (day + timedelta(days=90)).isoformat(),
        },
        headers=organiser,
    )
    activities = {}
    for kind, start, end in (("service", "09:00", "11:00"), ("training", "14:00", "15:30")):
        activity = api.post(
            "/activities",
            {
                "organisation_id": organisation,
                "project_id": project["id"],
                "kind": kind,
                "title": "困境儿童陪伴" if kind == "service" else "志愿者儿童保护培训",
                "place": "社区儿童之家",
                "community_id": community,
                "starts_at": at(start),
                "ends_at": at(end),
                "capacity": 1,
            },
            headers=organiser,
        )
        path = f"/activities/{activity['id']}"
        for volunteer in (first, second):
            api.post(f"{path}/sign-ups", {"volunteer_id": volunteer}, headers=bearer("volunteer", volunteer))
        api.post(f"{path}/cancellations", {"volunteer_id": first}, headers=bearer("volunteer", first))
        api.post(f"{path}/check-ins", {"volunteer_id": second, "at": at(start)}, headers=organiser)
        api.post(f"{path}/close", {"beneficiary_visits": 12 if kind == "service" else 0}, headers=organiser)
        activities[kind] = activity["id"]
    commendation = api.post(
        "/commendations",
        {
            "volunteer_id": second,
            "organisation_id": organisation,
            "title": "优秀志愿者",
            "level": "community",
            "awarded_on": day.isoformat(),
            "awarding_body": "奎星楼社区",
        },
        headers=organiser,
    )
    return {"activities": {"project": project["id"], **activities, "commendation": commendation["id"]}}
