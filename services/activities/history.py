"""Closed activities of the past, in bulk: an organisation's record of what it held and
who attended for how long (the university alliance's 19,000 activities, loaded by
`yilin demo --scale district`). Thousands of rows a call, set-based (``COPY`` on
PostgreSQL through ``yilin.bulk``); every row carries its own id, so a row whose id is
stored already counts as a duplicate and loading the same rows twice changes nothing.

They count in the reports (activities, beneficiary visits, volunteers, attended
minutes) like any closed activity, and publish no event: their minutes were served
and counted before Yilin kept the ledger, so they do not become hour entries now (the
ledger would credit a second time what the volunteers' record already holds, and an
imported record has no verifier who witnessed it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.activities import rules
from services.activities.models import Activity, SignUp
from services.activities.permissions import DEFAULT_OPEN_TO, IMPORTERS
from services.activities.schemas import HistoryRow
from yilin.bulk import insert_rows, stored
from yilin.db import UnitOfWork
from yilin.errors import Forbidden, InvalidInput, load_each
from yilin.identity import Identity
from yilin.tables import new_id, utcnow

HISTORY_ROWS = HistoryRow(many=True)


def import_history(uow: UnitOfWork, caller: Identity, rows: Any) -> dict[str, Any]:
    """Store the rows not stored yet: each activity closed, its attendees confirmed with
    their minutes (checked in at the start, out when their minutes ran out)."""
    if caller.role not in IMPORTERS:
        raise Forbidden(f"the role {caller.role} may not import past activities")
    if not isinstance(rows, list):
        raise InvalidInput("rows must be a list of activities", {"rows": ["expected a list"]})
    loaded, errors = load_each(HISTORY_ROWS, rows)
    rejected = [{"row": index, "fields": fields} for index, fields in errors.items()]
    known = stored(uow.session, Activity.__table__, "id", [str(d["id"]) for d in loaded.values()])
    now, organiser = utcnow(), caller.subject
    activities: list[dict[str, Any]] = []
    attendance: list[dict[str, Any]] = []
    for index, data in loaded.items():
        ident, starts_at, ends_at = str(data["id"]), rules.utc(data["starts_at"]), rules.utc(data["ends_at"])
        problem = rules.window_problem(starts_at, ends_at) or rules.attendance_problem(
            starts_at, ends_at, [a["minutes"] for a in data["attendees"]]
        )
        if problem is not None:
            rejected.append({"row": index, "fields": problem.details})
            continue
        if ident in known:
            continue
        known[ident] = ident
        attendees = data["attendees"]
        activities.append(
            {
                "id": ident,
                "project_id": None,
                "organisation_id": str(data["organisation_id"]),
                "organiser": organiser,
                "kind": data["kind"],
                "title": data["title"],
                "place": data["place"],
                "community_id": str(data["community_id"]),
                "grid_id": None,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "capacity": max(1, len(attendees)),
                "required_skills": [],
                "open_to": list(DEFAULT_OPEN_TO),
                "state": "closed",
                "confirmed": len(attendees),
                "waiting": 0,
                "next_position": len(attendees) + 1,
                "beneficiary_visits": data["beneficiary_visits"],
                "code": None,
                "code_expires_at": None,
                "closed_at": ends_at,
            }
        )
        attendance += [
            {
                "id": new_id(),
                "activity_id": ident,
                "volunteer_id": str(attendee["volunteer_id"]),
                "status": "confirmed",
                "position": position,
                "checked_in_at": starts_at,
                "checked_out_at": starts_at + timedelta(minutes=attendee["minutes"]),
                "minutes": attendee["minutes"],
                "signed_up_at": starts_at,
            }
            for position, attendee in enumerate(attendees, start=1)
        ]
    insert_rows(uow.session, Activity.__table__, activities, same={"created_at": now})
    insert_rows(uow.session, SignUp.__table__, attendance, same={"updated_at": now})
    rejected.sort(key=lambda r: r["row"])
    return {"created": len(activities), "duplicates": len(rows) - len(rejected) - len(activities), "rejected": rejected}
