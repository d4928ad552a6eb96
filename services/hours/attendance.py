"""Time, training and commendations from the activities service. An activity's closing
records each attendee's minutes as pending entries of the organising organisation (a
verifier who neither organised nor attended it verifies them); the same day rules as
every source apply (minute precision, no overlap, at most 24 hours a day), and time that
breaks them is recorded as rejected, since an event cannot be refused."""

from __future__ import annotations

from typing import Any

from services.hours import rules
from services.hours.ledger import ATTENDANCE, add, emit_recorded, emit_rejected
from services.hours.models import Commendation, Entry, Training
from services.hours.store import LedgerStore
from yilin.db import UnitOfWork


def attendance_recorded(uow: UnitOfWork, data: dict[str, Any]) -> list[Entry]:
    store = LedgerStore(uow.session)
    activity_id = data["activity_id"]
    if not store.record_activity(activity_id, data["organisation_id"], data["organiser_id"]):
        return []  # the same closing announced again under a new event id
    attendees = sorted(data["attendees"], key=lambda a: a["volunteer_id"])
    totals = store.lock_totals(a["volunteer_id"] for a in attendees)
    recorded = []
    for attendee in attendees:
        volunteer_id = attendee["volunteer_id"]
        day, start = rules.local_clock(attendee["started_at"])
        _, end = rules.local_clock(attendee["ended_at"])
        minutes = attendee["minutes"]
        problem = rules.day_problem(store.day(volunteer_id, day), day, minutes, start, end)
        entry = add(
            store,
            totals[volunteer_id],
            "activities",
            volunteer_id=volunteer_id,
            source=ATTENDANCE,
            source_id=activity_id,
            organisation_id=data["organisation_id"],
            community_id=data["community_id"],
            served_on=day,
            start_minute=start,
            end_minute=end,
            minutes=minutes,
            content=data["title"][:200],
            status="rejected" if problem else "pending",
            reason_code=(("overlap" if problem[0] == "start_time" else "over_daily_limit") if problem else None),
            reason=problem[1] if problem else None,
        )
        emit_recorded(uow, entry)
        if problem:
            emit_rejected(uow, entry, "pending", totals[volunteer_id])
        else:
            recorded.append(entry)
    return recorded


def training_completed(uow: UnitOfWork, data: dict[str, Any]) -> None:
    LedgerStore(uow.session).add_rows(
        Training,
        [{k: data[k] for k in ("activity_id", "volunteer_id", "organisation_id", "title", "completed_on", "minutes")}],
    )


def commendation_awarded(uow: UnitOfWork, data: dict[str, Any]) -> None:
    row = {k: data[k] for k in ("volunteer_id", "organisation_id", "title", "level", "awarded_on", "awarding_body")}
    LedgerStore(uow.session).add_rows(Commendation, [{"id": data["commendation_id"], **row}])
