"""The hour ledger's operations: recording, verification, rejection and star levels
(corrections in :mod:`services.hours.corrections`). Each loads through the store, asks the rules, writes through the store and
emits its events; the rules hold every decision, the store every statement. The totals
change in the same transaction as the entries, under the volunteer's row lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from services.hours import rules
from services.hours.models import Entry, VolunteerTotal
from services.hours.permissions import SELECTORS, SYSTEM_ROLES, VERIFIERS
from services.hours.store import LedgerStore
from services.hours.views import EntryView, SheetView, entry_view, sheet_view
from yilin.db import UnitOfWork
from yilin.errors import Conflict, Forbidden, InvalidInput, NotFound
from yilin.etags import Precondition, no_precondition
from yilin.identity import Identity

ATTENDANCE = "attendance"  # an entry's source for time from an activity's attendance
star_level = rules.star_level  # kept importable from here: the ledger's best-known rule


# -- steps every operation shares ---------------------------------------------------------
def restar(uow: UnitOfWork, store: LedgerStore, total: VolunteerTotal, star_minutes: Sequence[int]) -> None:
    """Re-derive the star level; announce each level crossed upwards, or the loss."""
    previous = total.star_level
    level = rules.star_level(total.verified_minutes, total.selected, star_minutes)
    if level == previous:
        return
    total.star_level = level
    store.log_star_change(total, previous)
    for reached in rules.levels_reached(previous, level):
        uow.emit(
            "volunteer.star_level_reached",
            {
                "volunteer_id": total.volunteer_id,
                "level": reached,
                "previous_level": reached - 1,
                "verified_minutes": total.verified_minutes,
            },
        )
    if level < previous:
        uow.emit(
            "volunteer.star_level_lost",
            {
                "volunteer_id": total.volunteer_id,
                "level": level,
                "previous_level": previous,
                "verified_minutes": total.verified_minutes,
            },
        )


def move(
    store: LedgerStore,
    entry: Entry,
    total: VolunteerTotal,
    to_status: str,
    actor: str,
    reason_code: str | None = None,
    reason: str | None = None,
) -> None:
    """Change an entry's status, its volunteer's totals and the audit log together."""
    rules.move(total, entry.minutes, entry.status, to_status)
    store.set_status(entry, to_status, actor, reason_code, reason)


def add(store: LedgerStore, total: VolunteerTotal | None, actor: str, **columns: Any) -> Entry:
    """Record a new entry (and count it, when a total is given)."""
    entry = store.add_entry(actor, **columns)
    if total is not None:
        rules.count(total, entry.status, entry.minutes)
    return entry


def verify(
    uow: UnitOfWork, store: LedgerStore, entry: Entry, total: VolunteerTotal, actor: str, star_minutes: Sequence[int]
) -> None:
    move(store, entry, total, "verified", actor)
    uow.emit(
        "hours.verified",
        {
            "entry_id": entry.id,
            "volunteer_id": entry.volunteer_id,
            "minutes": entry.minutes,
            "source": entry.source,
            "source_id": entry.source_id,
            "verified_minutes": total.verified_minutes,
        },
    )
    restar(uow, store, total, star_minutes)


def emit_recorded(uow: UnitOfWork, entry: Entry) -> None:
    uow.emit(
        "hours.recorded",
        {
            "entry_id": entry.id,
            "volunteer_id": entry.volunteer_id,
            "minutes": entry.minutes,
            "source": entry.source,
            "source_id": entry.source_id,
            "organisation_id": entry.organisation_id,
            "served_on": entry.served_on,
        },
    )


def emit_rejected(uow: UnitOfWork, entry: Entry, previous: str, total: VolunteerTotal) -> None:
    uow.emit(
        "hours.rejected",
        {
            "entry_id": entry.id,
            "volunteer_id": entry.volunteer_id,
            "minutes": entry.minutes,
            "reason_code": entry.reason_code or "other",
            "previous_status": previous,
            "verified_minutes": total.verified_minutes,
        },
    )


def authorise_decision(caller: Identity, entry: Entry, store: LedgerStore | None = None) -> None:
    """Refuse a caller who may not verify or reject ``entry`` (:func:`rules.decision_problem`
    decides), told whether they are on the ticket or in the activity its time comes from."""
    on_the_ticket = store is not None and entry.source == "ticket" and store.on_ticket(entry.source_id, caller.subject)
    in_the_activity = (
        store is not None and entry.source == ATTENDANCE and store.in_activity(entry.source_id, caller.subject)
    )
    problem = rules.decision_problem(
        caller, entry.volunteer_id, entry.organisation_id, VERIFIERS, SYSTEM_ROLES, on_the_ticket, in_the_activity
    )
    if problem:
        raise Forbidden(problem.message, problem.details)


def _require_pending(entry: Entry) -> None:
    problem = rules.pending_problem(entry.status)
    if problem:
        raise Conflict(problem.message, problem.details)


# -- attendance sheets ------------------------------------------------------------------
def submit_sheet(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> SheetView:
    """Record an organisation's attendance sheet as pending entries (all or nothing)."""
    store = LedgerStore(uow.session)
    organisation_id = str(data["organisation_id"])
    if not rules.acts_for(caller, organisation_id, SYSTEM_ROLES):
        raise Forbidden("you may only submit sheets for your own organisation", {"organisation_id": ["not yours"]})
    if not store.organisation_known(organisation_id):
        raise NotFound("unknown organisation", {"organisation_id": ["not found"]})
    served_on: date = data["served_on"]
    lines = []
    for line in data["entries"]:
        start = rules.clock_minutes(line["start_time"]) if line.get("start_time") else None
        end = rules.clock_minutes(line["end_time"]) if line.get("end_time") else None
        lines.append(
            rules.SheetLine(str(line["volunteer_id"]), rules.line_minutes(line.get("minutes"), start, end), start, end)
        )
    known = store.known_volunteers(line.volunteer_id for line in lines)
    errors = {
        index: {"volunteer_id": ["unknown volunteer"]}
        for index, line in enumerate(lines)
        if line.volunteer_id not in known
    }
    if errors:
        raise InvalidInput("the sheet names unknown volunteers", {"entries": errors})
    internal = rules.sheet_problem(lines)
    if internal:
        raise InvalidInput(internal.message, internal.details)
    totals = store.lock_totals([line.volunteer_id for line in lines])
    for index, line in enumerate(lines):
        earlier = sum(o.minutes for o in lines[:index] if o.volunteer_id == line.volunteer_id)
        problem = rules.day_problem(
            store.day(line.volunteer_id, served_on), served_on, line.minutes + earlier, line.start, line.end
        )
        if problem:
            raise Conflict(problem[1], {"entries": {index: {problem[0]: [problem[1]]}}})
    sheet = store.add_sheet(
        organisation_id=organisation_id,
        activity=data["activity"],
        served_on=served_on,
        place=data["place"],
        community_id=str(data["community_id"]),
        content=data["content"],
        submitted_by=caller.subject,
    )
    for line in lines:
        entry = add(
            store,
            totals[line.volunteer_id],
            caller.subject,
            volunteer_id=line.volunteer_id,
            source="activity",
            source_id=sheet.id,
            organisation_id=organisation_id,
            community_id=sheet.community_id,
            served_on=served_on,
            start_minute=line.start,
            end_minute=line.end,
            minutes=line.minutes,
            content=sheet.activity[:200],
            status="pending",
        )
        emit_recorded(uow, entry)
    return sheet_view(store, sheet)


def get_sheet(session: Session, sheet_id: Any) -> SheetView:
    store = LedgerStore(session)
    return sheet_view(store, store.sheet(sheet_id))


# -- verification and rejection -----------------------------------------------------------
def verify_entry(uow: UnitOfWork, caller: Identity, entry_id: Any, star_minutes: Sequence[int]) -> EntryView:
    store = LedgerStore(uow.session)
    entry = store.entry_for_update(entry_id)
    authorise_decision(caller, entry, store)
    _require_pending(entry)
    verify(uow, store, entry, store.lock_total(entry.volunteer_id), caller.subject, star_minutes)
    return entry_view(entry)


def verify_sheet(uow: UnitOfWork, caller: Identity, sheet_id: Any, star_minutes: Sequence[int]) -> SheetView:
    """Verify every pending entry of a sheet; refuses the whole sheet if one is the caller's own."""
    store = LedgerStore(uow.session)
    sheet = store.sheet(sheet_id)
    problem = rules.sheet_decision_problem(caller, sheet.organisation_id, VERIFIERS, SYSTEM_ROLES)
    if problem:
        raise Forbidden(problem.message, problem.details)
    entries = store.pending_sheet_entries(sheet.id)
    if not entries:
        raise Conflict("the sheet has no pending entries", {"sheet_id": ["nothing left to verify"]})
    for entry in entries:
        authorise_decision(caller, entry)
    totals = store.lock_totals([e.volunteer_id for e in entries])
    for entry in entries:
        verify(uow, store, entry, totals[entry.volunteer_id], caller.subject, star_minutes)
    return sheet_view(store, sheet)


def reject_entry(uow: UnitOfWork, caller: Identity, entry_id: Any, data: dict[str, Any]) -> EntryView:
    store = LedgerStore(uow.session)
    entry = store.entry_for_update(entry_id)
    authorise_decision(caller, entry)
    _require_pending(entry)
    total = store.lock_total(entry.volunteer_id)
    previous = entry.status
    move(store, entry, total, "rejected", caller.subject, data["reason_code"], data["reason"])
    emit_rejected(uow, entry, previous, total)
    return entry_view(entry)


# -- selection (5★) -----------------------------------------------------------------------------
def set_selection(
    uow: UnitOfWork,
    caller: Identity,
    volunteer_id: Any,
    selected: bool,
    star_minutes: Sequence[int],
    precondition: Precondition = no_precondition,
    organisation_id: str | None = None,
) -> VolunteerTotal:
    """``organisation_id``: the volunteer's own organisation (the registry's), whose
    administrators alone select them; another organisation's team is not enough."""
    if caller.role not in SELECTORS:
        raise Forbidden("only an organisation's administrator selects volunteers", {"selected": ["not allowed"]})
    if caller.subject == str(volunteer_id):
        raise Forbidden("nobody selects themselves", {"volunteer_id": ["is you"]})
    if not rules.acts_for(caller, organisation_id, SYSTEM_ROLES):
        raise Forbidden(
            "only the volunteer's own organisation selects them",
            {"volunteer_id": ["not your organisation's volunteer"]},
        )
    store = LedgerStore(uow.session)
    if not store.volunteer_known(str(volunteer_id)):
        raise NotFound("unknown volunteer", {"volunteer_id": ["not found"]})
    total = store.lock_total(str(volunteer_id))
    precondition({"volunteer_id": total.volunteer_id, "selected": total.selected})  # under the lock
    total.selected = selected
    # audited even when the star level does not move (and so no event says it)
    uow.note("volunteer.selected" if selected else "volunteer.unselected", {"volunteer_id": total.volunteer_id})
    restar(uow, store, total, star_minutes)
    return total


# -- reads --------------------------------------------------------------------------------------
def get_entry(session: Session, entry_id: Any) -> EntryView:
    return entry_view(LedgerStore(session).entry(entry_id))


def list_entries(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    return LedgerStore(session).list_entries(query, entry_view)
