"""The university volunteer alliance at the district's scale, part of `yilin demo --scale
district`: 12 universities (西南交通大学 and 西华大学 among them, as the district names them;
the others' names are generated) registered as registry organisations of kind
``university``, and their record of 19,000 closed activities whose attendance totals
620,000 volunteer hours, loaded through the activities service's bulk RPC
(``import_history``, 500 activities a call). The organisation report over the
alliance's organisations then shows the district's published figures, computed from the
rows: ``GET /api/v1/activities/reports/organisations?organisation_ids=…``.

Every activity has a fixed id (a name-based UUID of its number), so a
second run stores nothing new. The attendees are the first volunteers of the registry
by id (the alliance's students), taken in turn, so nobody attends twice before everyone
has attended once; each attendee's minutes stay within the activity."""

from __future__ import annotations

import uuid
from collections import deque
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator

from tqdm import tqdm

from services.district import LOCAL_TIME

CALL = 500  # activities per import_history call (about 5,500 attendees)
IN_FLIGHT = 2  # calls sent before waiting for the first answer
NAMESPACE = uuid.UUID("6a1f0c2e-8f0b-5b8e-9d62-3c1f4a7e0620")  # of the alliance's activity ids
FIRST_DAY, DAYS = date(2021, 1, 1), 5 * 365  # the record spans five years
STARTS = time(9)
LONGEST = 15 * 60  # minutes: an activity from 09:00 ends by midnight
NAMED = ("西南交通大学", "西华大学")


def university_rows(count: int, community_codes: list[str]) -> list[dict[str, Any]]:
    """The alliance's universities as registry organisation rows (fixed codes)."""
    return [
        {
            "code": f"PDX-U{n:02d}",
            "name": NAMED[n] if n < len(NAMED) else f"高校志愿服务联盟成员院校{n + 1:02d}",
            "kind": "university",
            "community_code": community_codes[(7 * n) % len(community_codes)],
        }
        for n in range(count)
    ]


def students(registry: Any, size: int) -> list[str]:
    """The first ``size`` volunteers of the registry by id: the alliance's students."""
    found: list[str] = []
    cursor = None
    while len(found) < size:
        page = registry.list_volunteers({"limit": min(200, size - len(found)), "cursor": cursor})
        found += [v["id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return found


def activity_rows(
    activities: int, hours: int, universities: list[str], communities: list[str], pool: list[str]
) -> Iterator[dict[str, Any]]:
    """``activities`` closed activities whose attendees' minutes total ``hours`` × 60
    exactly: each activity takes an even share, split evenly among as few attendees as
    its length allows."""
    if not pool:
        raise ValueError("the alliance needs volunteers to attend its activities")
    total, turn = hours * 60, 0
    for n in range(activities):
        share = total // activities + (1 if n < total % activities else 0)
        length = 120 + 30 * (n % 5)  # two to four hours
        attendees = min(len(pool), -(-share // length))
        length = max(length, -(-share // attendees))
        if length > LONGEST:
            raise ValueError(f"{len(pool)} volunteers cannot serve {share} minutes in one day's activity")
        each, extra = divmod(share, attendees)
        starts = datetime.combine(FIRST_DAY + timedelta(days=n * DAYS // activities), STARTS, LOCAL_TIME)
        university = universities[n % len(universities)]
        yield {
            "id": str(uuid.uuid5(NAMESPACE, f"alliance-activity-{n}")),
            "organisation_id": university,
            "title": f"高校志愿服务联盟活动{n + 1:05d}",
            "place": "社区志愿服务站",
            "community_id": communities[n % len(communities)],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=length)).isoformat(),
            "beneficiary_visits": 10 + n % 40,
            "attendees": [
                {"volunteer_id": pool[(turn + j) % len(pool)], "minutes": each + (1 if j < extra else 0)}
                for j in range(attendees)
            ],
        }
        turn += attendees


def load_history(
    activities_rpc: Any, rows: Iterator[dict[str, Any]], total: int, progress: bool = True
) -> dict[str, int]:
    """Send the rows ``CALL`` at a time, ``IN_FLIGHT`` calls at once, with a progress bar."""
    created = duplicates = 0
    pending: deque[tuple[int, Any]] = deque()

    def settle(bar: Any) -> None:
        nonlocal created, duplicates
        sent, reply = pending.popleft()
        result = reply.result()
        if result["rejected"]:
            raise RuntimeError(f"alliance activities: rows rejected: {result['rejected'][:3]}")
        created, duplicates = created + result["created"], duplicates + result["duplicates"]
        bar.update(sent)

    with tqdm(total=total, desc="alliance activities", unit="row", disable=not progress) as bar:
        for chunk in iter(lambda: [r for _, r in zip(range(CALL), rows)], []):
            if len(pending) >= IN_FLIGHT:
                settle(bar)
            pending.append((len(chunk), activities_rpc.import_history.call_async(chunk)))
        while pending:
            settle(bar)
    return {"created": created, "duplicates": duplicates}


def alliance_report(activities_rpc: Any, organisation_ids: list[str]) -> dict[str, Any]:
    """What the organisation report says of the alliance: activities and hours."""
    report = activities_rpc.organisation_report({"organisation_ids": ",".join(organisation_ids)})
    figures = report["indicators"]
    return {
        "activities": figures["activities"],
        "hours": figures["attended_minutes"] / 60,
        "volunteers": figures["volunteers"],
        "verified_minutes": figures["verified_minutes"],
    }
