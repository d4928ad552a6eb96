"""Corrections of verified hours: a volunteer or the recording organisation asks for a
replacement entry, and a verifier other than the requester approves it (the original
becomes ``corrected``, the totals move by the difference) or rejects it. The same day
rules as every entry apply, the original left out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.hours import rules
from services.hours.ledger import add, authorise_decision, emit_rejected, move, restar
from services.hours.models import Entry
from services.hours.permissions import SYSTEM_ROLES
from services.hours.store import LedgerStore
from services.hours.views import EntryView, entry_view
from yilin.db import UnitOfWork
from yilin.errors import Conflict, Forbidden, NotFound
from yilin.identity import Identity


def request_correction(uow: UnitOfWork, caller: Identity, entry_id: Any, data: dict[str, Any]) -> EntryView:
    """A new entry, in status ``requested``, that would replace a verified entry."""
    store = LedgerStore(uow.session)
    original = store.entry_for_update(entry_id)
    if caller.subject != original.volunteer_id and not rules.acts_for(caller, original.organisation_id, SYSTEM_ROLES):
        raise Forbidden(
            "only the volunteer or the recording organisation may ask for a correction",
            {"entry_id": ["not your entry"]},
        )
    if original.status != "verified":
        raise Conflict(
            f"only verified entries are corrected; this one is {original.status}",
            {"entry_id": [f"is {original.status}"]},
        )
    open_request = store.open_correction(original.id)
    if open_request is not None:
        raise Conflict(
            "a correction of this entry is already waiting for a decision",
            {"entry_id": [f"correction {open_request} is pending"]},
        )
    start = rules.clock_minutes(data["start_time"]) if data.get("start_time") else None
    end = rules.clock_minutes(data["end_time"]) if data.get("end_time") else None
    minutes = rules.line_minutes(data.get("minutes"), start, end)
    correction = add(
        store,
        None,
        caller.subject,
        volunteer_id=original.volunteer_id,
        source="correction",
        source_id=original.id,
        corrects_id=original.id,
        organisation_id=original.organisation_id,
        team_id=original.team_id,
        community_id=original.community_id,
        served_on=original.served_on,
        start_minute=start,
        end_minute=end,
        minutes=minutes,
        content=original.content,
        status="requested",
        reason=data["reason"],
    )
    uow.emit(
        "hours.correction_requested",
        {
            "entry_id": correction.id,
            "volunteer_id": correction.volunteer_id,
            "minutes": minutes,
            "corrects_entry_id": original.id,
        },
    )
    return entry_view(correction)


def _correction(store: LedgerStore, caller: Identity, correction_id: Any) -> Entry:
    correction = store.entry_for_update(correction_id, "correction_id")
    if correction.corrects_id is None:
        raise NotFound("not a correction", {"correction_id": ["is not a correction request"]})
    authorise_decision(caller, correction)
    if correction.status != "requested":
        raise Conflict(f"the correction is already {correction.status}", {"correction_id": [f"is {correction.status}"]})
    return correction


def approve_correction(uow: UnitOfWork, caller: Identity, correction_id: Any, star_minutes: Sequence[int]) -> EntryView:
    store = LedgerStore(uow.session)
    correction = _correction(store, caller, correction_id)
    total = store.lock_total(correction.volunteer_id)
    original = store.entry_for_update(correction.corrects_id)
    if original.status != "verified":
        raise Conflict(f"the corrected entry is now {original.status}", {"correction_id": ["entry no longer verified"]})
    problem = rules.day_problem(
        store.day(correction.volunteer_id, correction.served_on),
        correction.served_on,
        correction.minutes,
        correction.start_minute,
        correction.end_minute,
        exclude=[original.id],
    )
    if problem:
        raise Conflict(problem[1], {problem[0]: [problem[1]]})
    move(store, original, total, "corrected", caller.subject)
    move(store, correction, total, "verified", caller.subject)
    uow.emit(
        "hours.corrected",
        {
            "entry_id": correction.id,
            "volunteer_id": correction.volunteer_id,
            "minutes": correction.minutes,
            "corrects_entry_id": original.id,
            "previous_minutes": original.minutes,
            "delta_minutes": correction.minutes - original.minutes,
            "verified_minutes": total.verified_minutes,
        },
    )
    restar(uow, store, total, star_minutes)
    return entry_view(correction)


def reject_correction(uow: UnitOfWork, caller: Identity, correction_id: Any, data: dict[str, Any]) -> EntryView:
    store = LedgerStore(uow.session)
    correction = _correction(store, caller, correction_id)
    total = store.lock_total(correction.volunteer_id)
    move(store, correction, total, "rejected", caller.subject, data["reason_code"], data["reason"])
    emit_rejected(uow, correction, "requested", total)
    return entry_view(correction)
