"""Past activities in bulk (``import_history``, what the district-scale load sends for the
university alliance): rows stored set-based on SQLite and PostgreSQL, bad rows reported by
field and not stored, a stored id counted as a duplicate, only the platform may import,
and the organisation report counts the attendance: activities, volunteers and minutes."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

import pytest

from services.district import LOCAL_TIME
from yilin.errors import Forbidden
from yilin.identity import Identity


def _row(n: int, organisation: str, volunteers: list[str], minutes: int = 120) -> dict[str, Any]:
    starts = datetime.combine(datetime(2024, 3, 1 + n).date(), time(9), LOCAL_TIME)
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"history-test-{n}")),
        "organisation_id": organisation,
        "title": f"高校志愿服务{n}",
        "place": "社区志愿服务站",
        "community_id": str(uuid.uuid4()),
        "starts_at": starts.isoformat(),
        "ends_at": starts.replace(hour=11).isoformat(),
        "beneficiary_visits": 5,
        "attendees": [{"volunteer_id": v, "minutes": minutes} for v in volunteers],
    }


def test_past_activities_load_in_bulk_once_and_count_in_the_report(stack: Any) -> None:
    s = stack("activities")
    university = str(uuid.uuid4())
    students = [str(uuid.uuid4()) for _ in range(150)]
    rows = [_row(n, university, students[n * 50 : n * 50 + 50], 100 + n) for n in range(3)]
    bad = [
        {**_row(3, university, students[:2]), "attendees": [{"volunteer_id": students[0], "minutes": 121}]},
        {**_row(4, university, students[:1]), "attendees": [{"volunteer_id": students[0], "minutes": 5}] * 2},
        {**_row(5, university, students[:1]), "organisation_id": "not-a-uuid"},
    ]
    with s.rpc("activities") as activities:
        result = activities.import_history(rows + bad)
        assert (result["created"], result["duplicates"]) == (3, 0)
        assert [(r["row"], sorted(r["fields"])) for r in result["rejected"]] == [
            (3, ["attendees"]),
            (4, ["attendees"]),
            (5, ["organisation_id"]),
        ]
        again = activities.import_history(rows)
        assert (again["created"], again["duplicates"], again["rejected"]) == (0, 3, [])

        report = activities.organisation_report({"organisation_ids": university})
        assert report["indicators"] == {
            "activities": 3,
            "beneficiary_visits": 15,
            "volunteers": 150,
            "attended_minutes": 50 * (100 + 101 + 102),
            "verified_minutes": 0,
        }
        closed = activities.get_activity(rows[0]["id"])
        assert (closed["state"], closed["confirmed"], closed["capacity"]) == ("closed", 50, 50)
        sign_ups = activities.sign_ups(rows[0]["id"], {"limit": 200})["items"]
        assert {x["minutes"] for x in sign_ups} == {100} and {x["status"] for x in sign_ups} == {"confirmed"}

    volunteer = Identity(subject=students[0], role="volunteer", organisation_id=None)
    with s.rpc("activities", volunteer) as activities, pytest.raises(Forbidden):
        activities.import_history([_row(6, university, students[:1])])
