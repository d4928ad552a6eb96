"""The hours part of the demo district: an organisation's attendance sheet for a door-to-door
visit, verified by a verifier, and a service record certificate for one volunteer."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from services.district import LOCAL_TIME

PROJECTION_WAIT_SECONDS = 20.0


def _wait_for_projection(api: Any, volunteer_ids: list[str]) -> None:
    """The hours service learns volunteers from the registry's events; give it a moment."""
    deadline = time.monotonic() + PROJECTION_WAIT_SECONDS
    for volunteer_id in volunteer_ids:
        while True:
            try:
                api.get(f"/hours/volunteers/{volunteer_id}/totals")
                break
            except Exception:  # not projected yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def _organisation_and_team(api: Any, context: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    organisation_ids = set((context.get("organisations") or {}).values())
    for team in context.get("teams") or []:
        if team.get("member_ids") and team.get("organisation_id") in organisation_ids:
            return team["organisation_id"], team
    found = api.get("/organisations", params={"kind": "volunteer_organisation", "limit": 1})["items"]
    return (found[0]["id"] if found else next(iter(organisation_ids))), None


def load(api: Any, context: dict[str, Any]) -> dict[str, Any]:
    organisation_id, team = _organisation_and_team(api, context)
    volunteer_ids = list((team or {}).get("member_ids") or context.get("volunteers") or [])[:3]
    community_id = (team or {}).get("community_id") or context["communities"][0]
    _wait_for_projection(api, volunteer_ids)
    served_on = (datetime.now(LOCAL_TIME) - timedelta(days=1)).date()
    times = [("09:00", "11:30"), ("09:00", "12:00"), ("14:00", "16:30")]
    sheet = api.post(
        "/hours/sheets",
        {
            "organisation_id": organisation_id,
            "activity": "益邻·心声 入户走访",
            "served_on": served_on.isoformat(),
            "place": "社区党群服务中心及各小区",
            "community_id": community_id,
            "content": "入户走访独居老人，收集居民意见建议，协助缴纳水电费",
            "entries": [
                {"volunteer_id": vid, "start_time": start, "end_time": end}
                for vid, (start, end) in zip(volunteer_ids, times)
            ],
        },
    )
    # The organisation's verifier, who served on none of these lines, gives their word.
    verified = api.as_identity("verifier", "demo-verifier", organisation_id).post(
        f"/hours/sheets/{sheet['id']}/verify", {}
    )
    certificate = api.post(
        "/hours/certificates",
        {
            "volunteer_id": volunteer_ids[0],
            "organisation_id": organisation_id,
            "from": (served_on - timedelta(days=30)).isoformat(),
            "to": served_on.isoformat(),
            "person_in_charge": "张主任",
            "contact": "028-87654321",
        },
    )
    return {
        "hours": {
            "sheet_id": sheet["id"],
            "organisation_id": organisation_id,
            "entry_ids": [e["id"] for e in verified["entries"]],
            "verified_minutes": sum(e["minutes"] for e in verified["entries"] if e["status"] == "verified"),
            "volunteer_ids": volunteer_ids,
            "certificate_number": certificate["number"],
            "certificate_id": certificate["id"],
        }
    }
