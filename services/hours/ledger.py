"""The hour ledger: recording, verification, rejection, corrections and star levels.

Plain functions over a unit of work. Every credit to a volunteer first locks that
volunteer's ``volunteer_totals`` row, so concurrent credits to one volunteer (from many
replicas) are serialised and the 24-hour and overlap checks cannot race; the totals are
updated in the same transaction as the entries."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.hours.models import (AttendanceSheet, Entry, EntryTransition, OrganisationView, StarChange, TeamView,
                                   TicketState, VolunteerTotal, VolunteerView, utcnow)
from services.hours.locks import lock_ticket, lock_total, lock_totals, prepared, served_on, ticket_batch
from services.hours.schemas import DAY_MINUTES, clock_minutes
from yilin.db import UnitOfWork
from yilin.errors import Conflict, Forbidden, InvalidInput, NotFound
from yilin.identity import Identity
from yilin.paging import paginate
from yilin.tables import new_id

LIVE = ("pending", "verified")  # statuses that occupy a volunteer's day
VERIFIERS = ("verifier", "org_admin")  # roles that decide for their own organisation
SYSTEM_ROLES = ("operator", "service")  # act for any organisation


# -- views ----------------------------------------------------------------------------
def clock_text(minute: int | None) -> str | None:
    return None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


def entry_view(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id, "volunteer_id": entry.volunteer_id, "source": entry.source, "source_id": entry.source_id,
        "organisation_id": entry.organisation_id, "team_id": entry.team_id, "community_id": entry.community_id,
        "served_on": entry.served_on, "start_time": clock_text(entry.start_minute), "end_time": clock_text(entry.end_minute),
        "minutes": entry.minutes, "content": entry.content, "status": entry.status, "corrects_id": entry.corrects_id,
        "decided_by": entry.decided_by, "decided_at": entry.decided_at, "reason_code": entry.reason_code,
        "reason": entry.reason, "created_at": entry.created_at,
    }


def sheet_view(session: Session, sheet: AttendanceSheet) -> dict[str, Any]:
    entries = session.scalars(select(Entry).where(Entry.source == "activity", Entry.source_id == sheet.id)
                              .order_by(Entry.created_at, Entry.id)).all()
    return {"id": sheet.id, "organisation_id": sheet.organisation_id, "activity": sheet.activity,
            "served_on": sheet.served_on, "place": sheet.place, "community_id": sheet.community_id,
            "content": sheet.content, "submitted_by": sheet.submitted_by,
            "entries": [entry_view(e) for e in entries]}


# -- totals, locks and star levels ------------------------------------------------------
def star_level(verified_minutes: int, selected: bool, star_minutes: Sequence[int]) -> int:
    """The highest level whose threshold is met; 5★ also needs the selection (and 4★)."""
    level = 0
    for index, threshold in enumerate(star_minutes, start=1):
        if verified_minutes < threshold or (index == 5 and not selected):
            break
        level = index
    return level


def _count(total: VolunteerTotal, status: str | None, minutes: int) -> None:
    if status == "pending":
        total.pending_minutes += minutes
    elif status == "verified":
        total.verified_minutes += minutes


def _restar(uow: UnitOfWork, total: VolunteerTotal, star_minutes: Sequence[int]) -> None:
    """Re-derive the star level; announce each level crossed upwards, or the loss."""
    previous = total.star_level
    level = star_level(total.verified_minutes, total.selected, star_minutes)
    if level == previous:
        return
    total.star_level = level
    uow.session.add(StarChange(volunteer_id=total.volunteer_id, level=level, previous_level=previous,
                               verified_minutes=total.verified_minutes))
    if level > previous:
        for reached in range(previous + 1, level + 1):
            uow.emit("volunteer.star_level_reached", {"volunteer_id": total.volunteer_id, "level": reached,
                                                      "previous_level": reached - 1,
                                                      "verified_minutes": total.verified_minutes})
    else:
        uow.emit("volunteer.star_level_lost", {"volunteer_id": total.volunteer_id, "level": level,
                                               "previous_level": previous,
                                               "verified_minutes": total.verified_minutes})


def _move(uow: UnitOfWork, entry: Entry, total: VolunteerTotal, to_status: str, actor: str,
          reason_code: str | None = None, reason: str | None = None) -> None:
    """Change an entry's status, its volunteer's totals and the audit log together."""
    _count(total, entry.status, -entry.minutes)
    _count(total, to_status, entry.minutes)
    uow.session.add(EntryTransition(entry_id=entry.id, from_status=entry.status, to_status=to_status, actor=actor,
                                    reason_code=reason_code))
    entry.status = to_status
    entry.decided_by, entry.decided_at = actor, utcnow()
    if reason_code is not None:
        entry.reason_code, entry.reason = reason_code, reason


def _add(uow: UnitOfWork, total: VolunteerTotal | None, actor: str, **columns: Any) -> Entry:
    # id and time are set here, not at flush: the transition names the entry without a
    # flush per entry, and entries added together keep the order they were added in
    entry = Entry(id=new_id(), created_at=utcnow(), requested_by=actor, **columns)
    uow.session.add(entry)
    batch = ticket_batch(uow.session)
    if batch is not None:
        batch.add(entry)
    uow.session.add(EntryTransition(entry_id=entry.id, from_status=None, to_status=entry.status, actor=actor,
                                    reason_code=entry.reason_code))
    if total is not None:
        _count(total, entry.status, entry.minutes)
    return entry


# -- the day rules ---------------------------------------------------------------------
def day_problem(session: Session, volunteer_id: str, served_on: date, minutes: int, start: int | None,
                end: int | None, exclude: Iterable[str] = ()) -> tuple[str, str] | None:
    """``(field, message)`` if crediting this time would exceed 24 h on the day or
    overlap time already credited; ``None`` if it fits. Reads one volunteer's day
    through the (volunteer_id, served_on) index."""
    batch = ticket_batch(session)
    if batch is not None and (volunteer_id, served_on) in batch.by_day:
        rows: Sequence[Any] = [e for e in batch.by_day[(volunteer_id, served_on)] if e.status in LIVE]
    else:
        rows = session.execute(
            select(Entry.id, Entry.minutes, Entry.start_minute, Entry.end_minute)
            .where(Entry.volunteer_id == volunteer_id, Entry.served_on == served_on, Entry.status.in_(LIVE))).all()
    excluded = set(exclude)
    rows = [r for r in rows if r.id not in excluded]
    used = sum(r.minutes for r in rows)
    if used + minutes > DAY_MINUTES:
        return "minutes", f"would credit {used + minutes} minutes on {served_on}; at most {DAY_MINUTES} a day"
    if start is not None and end is not None:
        for r in rows:
            if r.start_minute is not None and r.end_minute is not None and r.start_minute < end and start < r.end_minute:
                return "start_time", (f"overlaps time already credited on {served_on} "
                                      f"({clock_text(r.start_minute)}–{clock_text(r.end_minute)})")
    return None


# -- authorisation ----------------------------------------------------------------------
def _acts_for(caller: Identity, organisation_id: str | None) -> bool:
    return caller.role in SYSTEM_ROLES or (caller.organisation_id is not None
                                           and caller.organisation_id == organisation_id)


def _authorise_decision(caller: Identity, entry: Entry, session: Session | None = None) -> None:
    """Only a verifier of the recording organisation decides, never on their own hours,
    and for a ticket's hours never someone named on that ticket: someone else's word."""
    if caller.subject == entry.volunteer_id:
        raise Forbidden("nobody verifies their own hours", {"entry_id": ["is your own entry"]})
    if caller.role not in SYSTEM_ROLES + VERIFIERS or not _acts_for(caller, entry.organisation_id):
        raise Forbidden("only a verifier of the organisation that recorded these hours may decide on them",
                        {"entry_id": ["recorded by another organisation"]})
    if session is not None and entry.source == "ticket" and session.scalar(
            select(Entry.id).where(Entry.source == "ticket", Entry.source_id == entry.source_id,
                                   Entry.volunteer_id == caller.subject).limit(1)) is not None:
        raise Forbidden("a verifier named on the ticket cannot verify its hours; another verifier must",
                        {"entry_id": ["you are on this ticket"]})


def _get_entry(session: Session, entry_id: Any, field: str = "entry_id") -> Entry:
    entry = session.scalars(select(Entry).where(Entry.id == str(entry_id)).with_for_update()
                            .execution_options(populate_existing=True)).one_or_none()
    if entry is None:
        raise NotFound(f"entry {entry_id} does not exist", {field: ["not found"]})
    return entry


# -- attendance sheets ------------------------------------------------------------------
def submit_sheet(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> dict[str, Any]:
    """Record an organisation's attendance sheet as pending entries (all or nothing)."""
    session = uow.session
    organisation_id = str(data["organisation_id"])
    if not _acts_for(caller, organisation_id):
        raise Forbidden("you may only submit sheets for your own organisation", {"organisation_id": ["not yours"]})
    if session.get(OrganisationView, organisation_id) is None:
        raise NotFound("unknown organisation", {"organisation_id": ["not found"]})
    lines = data["entries"]
    served_on: date = data["served_on"]
    errors: dict[int, dict[str, list[str]]] = {}
    known = set(session.scalars(select(VolunteerView.id).where(
        VolunteerView.id.in_([str(line["volunteer_id"]) for line in lines]))))
    for index, line in enumerate(lines):
        line["volunteer_id"] = str(line["volunteer_id"])
        line["start"] = clock_minutes(line["start_time"]) if line.get("start_time") else None
        line["end"] = clock_minutes(line["end_time"]) if line.get("end_time") else None
        line["minutes"] = line.get("minutes") or (line["end"] - line["start"])
        if line["volunteer_id"] not in known:
            errors[index] = {"volunteer_id": ["unknown volunteer"]}
    if errors:
        raise InvalidInput("the sheet names unknown volunteers", {"entries": errors})
    _check_sheet_internally(lines)
    totals = lock_totals(session, [line["volunteer_id"] for line in lines])
    for index, line in enumerate(lines):
        earlier = lines[:index]
        problem = day_problem(session, line["volunteer_id"], served_on,
                              line["minutes"] + sum(o["minutes"] for o in earlier
                                                    if o["volunteer_id"] == line["volunteer_id"]),
                              line["start"], line["end"])
        if problem:
            raise Conflict(problem[1], {"entries": {index: {problem[0]: [problem[1]]}}})
    sheet = AttendanceSheet(organisation_id=organisation_id, activity=data["activity"], served_on=served_on,
                            place=data["place"], community_id=str(data["community_id"]), content=data["content"],
                            submitted_by=caller.subject)
    session.add(sheet)
    session.flush()
    for line in lines:
        entry = _add(uow, totals[line["volunteer_id"]], caller.subject, volunteer_id=line["volunteer_id"],
                     source="activity", source_id=sheet.id, organisation_id=organisation_id,
                     community_id=sheet.community_id, served_on=served_on, start_minute=line["start"],
                     end_minute=line["end"], minutes=line["minutes"], content=sheet.activity[:200], status="pending")
        _emit_recorded(uow, entry)
    return sheet_view(session, sheet)


def _check_sheet_internally(lines: list[dict[str, Any]]) -> None:
    """One volunteer may appear on a sheet more than once, but never for overlapping
    times or more than a day in all."""
    by_volunteer: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        by_volunteer.setdefault(line["volunteer_id"], []).append(index)
    for indexes in by_volunteer.values():
        if sum(lines[i]["minutes"] for i in indexes) > DAY_MINUTES:
            raise InvalidInput("more than 24 hours for one volunteer on the sheet",
                               {"entries": {indexes[-1]: {"minutes": [f"more than {DAY_MINUTES} minutes in the day"]}}})
        for a in indexes:
            for b in indexes:
                la, lb = lines[a], lines[b]
                if a < b and None not in (la["start"], lb["start"]) and la["start"] < lb["end"] and lb["start"] < la["end"]:
                    raise InvalidInput("overlapping times for one volunteer on the sheet",
                                       {"entries": {b: {"start_time": [f"overlaps entries[{a}]"]}}})


def _emit_recorded(uow: UnitOfWork, entry: Entry) -> None:
    uow.emit("hours.recorded", {"entry_id": entry.id, "volunteer_id": entry.volunteer_id, "minutes": entry.minutes,
                                "source": entry.source, "source_id": entry.source_id,
                                "organisation_id": entry.organisation_id, "served_on": entry.served_on})


def get_sheet(session: Session, sheet_id: Any) -> dict[str, Any]:
    sheet = session.get(AttendanceSheet, str(sheet_id))
    if sheet is None:
        raise NotFound(f"sheet {sheet_id} does not exist", {"sheet_id": ["not found"]})
    return sheet_view(session, sheet)


# -- verification and rejection -----------------------------------------------------------
def _verify(uow: UnitOfWork, entry: Entry, total: VolunteerTotal, actor: str, star_minutes: Sequence[int]) -> None:
    _move(uow, entry, total, "verified", actor)
    uow.emit("hours.verified", {"entry_id": entry.id, "volunteer_id": entry.volunteer_id, "minutes": entry.minutes,
                                "source": entry.source, "source_id": entry.source_id,
                                "verified_minutes": total.verified_minutes})
    _restar(uow, total, star_minutes)


def _require_pending(entry: Entry) -> None:
    if entry.status != "pending":
        raise Conflict(f"the entry is already {entry.status}", {"entry_id": [f"is {entry.status}, not pending"]})


def verify_entry(uow: UnitOfWork, caller: Identity, entry_id: Any, star_minutes: Sequence[int]) -> dict[str, Any]:
    entry = _get_entry(uow.session, entry_id)
    _authorise_decision(caller, entry, uow.session)
    _require_pending(entry)
    _verify(uow, entry, lock_total(uow.session, entry.volunteer_id), caller.subject, star_minutes)
    return entry_view(entry)


def verify_sheet(uow: UnitOfWork, caller: Identity, sheet_id: Any, star_minutes: Sequence[int]) -> dict[str, Any]:
    """Verify every pending entry of a sheet; refuses the whole sheet if one is the caller's own."""
    session = uow.session
    sheet = session.get(AttendanceSheet, str(sheet_id))
    if sheet is None:
        raise NotFound(f"sheet {sheet_id} does not exist", {"sheet_id": ["not found"]})
    entries = session.scalars(select(Entry).where(Entry.source == "activity", Entry.source_id == sheet.id,
                                                  Entry.status == "pending").order_by(Entry.id).with_for_update()
                              .execution_options(populate_existing=True)).all()
    if not entries:
        raise Conflict("the sheet has no pending entries", {"sheet_id": ["nothing left to verify"]})
    for entry in entries:
        _authorise_decision(caller, entry)
    totals = lock_totals(session, [e.volunteer_id for e in entries])
    for entry in entries:
        _verify(uow, entry, totals[entry.volunteer_id], caller.subject, star_minutes)
    return sheet_view(session, sheet)


def reject_entry(uow: UnitOfWork, caller: Identity, entry_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    entry = _get_entry(uow.session, entry_id)
    _authorise_decision(caller, entry)
    _require_pending(entry)
    total = lock_total(uow.session, entry.volunteer_id)
    previous = entry.status
    _move(uow, entry, total, "rejected", caller.subject, data["reason_code"], data["reason"])
    _emit_rejected(uow, entry, previous, total)
    return entry_view(entry)


def _emit_rejected(uow: UnitOfWork, entry: Entry, previous: str, total: VolunteerTotal) -> None:
    uow.emit("hours.rejected", {"entry_id": entry.id, "volunteer_id": entry.volunteer_id, "minutes": entry.minutes,
                                "reason_code": entry.reason_code or "other", "previous_status": previous,
                                "verified_minutes": total.verified_minutes})


# -- corrections ------------------------------------------------------------------------------
def request_correction(uow: UnitOfWork, caller: Identity, entry_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    """A new entry, in status ``requested``, that would replace a verified entry."""
    session = uow.session
    original = _get_entry(session, entry_id)
    if caller.subject != original.volunteer_id and not _acts_for(caller, original.organisation_id):
        raise Forbidden("only the volunteer or the recording organisation may ask for a correction",
                        {"entry_id": ["not your entry"]})
    if original.status != "verified":
        raise Conflict(f"only verified entries are corrected; this one is {original.status}",
                       {"entry_id": [f"is {original.status}"]})
    open_request = session.scalar(select(Entry.id).where(Entry.corrects_id == original.id,
                                                         Entry.status == "requested"))
    if open_request is not None:
        raise Conflict("a correction of this entry is already waiting for a decision",
                       {"entry_id": [f"correction {open_request} is pending"]})
    start = clock_minutes(data["start_time"]) if data.get("start_time") else None
    end = clock_minutes(data["end_time"]) if data.get("end_time") else None
    minutes = data.get("minutes") or (end - start)  # type: ignore[operator]
    correction = _add(uow, None, caller.subject, volunteer_id=original.volunteer_id, source="correction",
                      source_id=original.id, corrects_id=original.id, organisation_id=original.organisation_id,
                      team_id=original.team_id, community_id=original.community_id, served_on=original.served_on,
                      start_minute=start, end_minute=end, minutes=minutes, content=original.content,
                      status="requested", reason=data["reason"])
    uow.emit("hours.correction_requested", {"entry_id": correction.id, "volunteer_id": correction.volunteer_id,
                                            "minutes": minutes, "corrects_entry_id": original.id})
    return entry_view(correction)


def _get_correction(session: Session, correction_id: Any) -> Entry:
    correction = _get_entry(session, correction_id, "correction_id")
    if correction.corrects_id is None:
        raise NotFound("not a correction", {"correction_id": ["is not a correction request"]})
    return correction


def approve_correction(uow: UnitOfWork, caller: Identity, correction_id: Any,
                       star_minutes: Sequence[int]) -> dict[str, Any]:
    session = uow.session
    correction = _get_correction(session, correction_id)
    _authorise_decision(caller, correction)
    if correction.status != "requested":
        raise Conflict(f"the correction is already {correction.status}", {"correction_id": [f"is {correction.status}"]})
    total = lock_total(session, correction.volunteer_id)
    original = _get_entry(session, correction.corrects_id)
    if original.status != "verified":
        raise Conflict(f"the corrected entry is now {original.status}", {"correction_id": ["entry no longer verified"]})
    problem = day_problem(session, correction.volunteer_id, correction.served_on, correction.minutes,
                          correction.start_minute, correction.end_minute, exclude=[original.id])
    if problem:
        raise Conflict(problem[1], {problem[0]: [problem[1]]})
    _move(uow, original, total, "corrected", caller.subject)
    _move(uow, correction, total, "verified", caller.subject)
    uow.emit("hours.corrected", {"entry_id": correction.id, "volunteer_id": correction.volunteer_id,
                                 "minutes": correction.minutes, "corrects_entry_id": original.id,
                                 "previous_minutes": original.minutes,
                                 "delta_minutes": correction.minutes - original.minutes,
                                 "verified_minutes": total.verified_minutes})
    _restar(uow, total, star_minutes)
    return entry_view(correction)


def reject_correction(uow: UnitOfWork, caller: Identity, correction_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    correction = _get_correction(uow.session, correction_id)
    _authorise_decision(caller, correction)
    if correction.status != "requested":
        raise Conflict(f"the correction is already {correction.status}", {"correction_id": [f"is {correction.status}"]})
    total = lock_total(uow.session, correction.volunteer_id)
    _move(uow, correction, total, "rejected", caller.subject, data["reason_code"], data["reason"])
    _emit_rejected(uow, correction, "requested", total)
    return entry_view(correction)


# -- selection (5★) -----------------------------------------------------------------------------
def set_selection(uow: UnitOfWork, caller: Identity, volunteer_id: Any, selected: bool,
                  star_minutes: Sequence[int]) -> VolunteerTotal:
    if caller.role not in SYSTEM_ROLES + ("org_admin",):
        raise Forbidden("only an organisation's administrator selects volunteers", {"selected": ["not allowed"]})
    if caller.subject == str(volunteer_id):
        raise Forbidden("nobody selects themselves", {"volunteer_id": ["is you"]})
    if uow.session.get(VolunteerView, str(volunteer_id)) is None:
        raise NotFound("unknown volunteer", {"volunteer_id": ["not found"]})
    total = lock_total(uow.session, str(volunteer_id))
    total.selected = selected
    _restar(uow, total, star_minutes)
    return total


# -- ticket events -----------------------------------------------------------------------------
def _after(first: datetime | None, second: datetime | None) -> bool:
    """Whether ``first`` is set and not before ``second`` (unset counts as long ago)."""
    return first is not None and (second is None or _utc(first) >= _utc(second))


def _utc(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)  # SQLite drops the zone


def ticket_resolved(uow: UnitOfWork, data: dict[str, Any], occurred_at: datetime,
                    star_minutes: Sequence[int]) -> list[Entry]:
    """Record each volunteer's minutes as pending, dated by the local day of
    ``resolved_at``. Time that breaks the day rules is recorded as rejected (the
    event cannot be refused), so the ledger still shows it. A confirmation or
    cancellation already handled for a later moment applies at once."""
    session = uow.session
    ticket_id = data["ticket_id"]
    ticket_entries = prepared(session, data).by_ticket[ticket_id]
    state = lock_ticket(session, ticket_id)
    episode = data["resolved_at"]
    day = served_on(episode)
    team = session.get(TeamView, data["team_id"]) if data.get("team_id") else None
    organisation_id = team.organisation_id if team else None
    minutes_by_volunteer: dict[str, int] = {}
    for item in data["volunteers"]:
        minutes_by_volunteer[item["volunteer_id"]] = minutes_by_volunteer.get(item["volunteer_id"], 0) + item["minutes"]
    totals = lock_totals(session, minutes_by_volunteer)
    recorded = []
    for volunteer_id, minutes in sorted(minutes_by_volunteer.items()):
        if any(e.volunteer_id == volunteer_id and e.episode == episode for e in ticket_entries):
            continue  # the same resolution announced again under a new event id
        problem = day_problem(session, volunteer_id, day, minutes, None, None)
        entry = _add(uow, totals[volunteer_id], "tickets", volunteer_id=volunteer_id, source="ticket",
                     source_id=ticket_id, organisation_id=organisation_id, team_id=data.get("team_id"),
                     community_id=data["community_id"], served_on=day, minutes=minutes,
                     content=data["category_code"][:200], episode=episode,
                     status="rejected" if problem else "pending",
                     reason_code="over_daily_limit" if problem else None, reason=problem[1] if problem else None)
        _emit_recorded(uow, entry)
        if problem:
            _emit_rejected(uow, entry, "pending", totals[volunteer_id])
        else:
            recorded.append(entry)
    if _after(state.cancelled_at, occurred_at):
        _void(uow, recorded, totals)
    elif _after(state.confirmed_at, occurred_at) and not _after(state.reopened_at, state.confirmed_at):
        _confirm(uow, state, recorded, totals, star_minutes)
    return recorded


def _ticket_entries(session: Session, data: dict[str, Any], statuses: Sequence[str]) -> list[Entry]:
    entries = prepared(session, data).by_ticket[data["ticket_id"]]
    return sorted((e for e in entries if e.status in statuses), key=lambda e: e.id)


def _confirm(uow: UnitOfWork, state: TicketState, entries: Sequence[Entry], totals: dict[str, VolunteerTotal],
             star_minutes: Sequence[int]) -> None:
    """The resident's own confirmation verifies the ticket's hours. An automatic one (the
    resident said nothing) is nobody's word: the hours stay recorded and pending, for a
    verifier of the volunteer's organisation who is not on the ticket."""
    if state.automatic:
        return
    for entry in entries:
        entry.rating = state.rating
        _verify(uow, entry, totals[entry.volunteer_id], "tickets:resident-confirmation", star_minutes)


def _void(uow: UnitOfWork, entries: Sequence[Entry], totals: dict[str, VolunteerTotal]) -> None:
    for entry in entries:
        previous = entry.status
        _move(uow, entry, totals[entry.volunteer_id], "void", "tickets", "ticket_cancelled")
        _emit_rejected(uow, entry, previous, totals[entry.volunteer_id])


def ticket_confirmed(uow: UnitOfWork, data: dict[str, Any], occurred_at: datetime,
                     star_minutes: Sequence[int]) -> list[Entry]:
    """The served resident's confirmation is the signature: verify the ticket's pending time."""
    session = uow.session
    state = lock_ticket(session, data["ticket_id"])
    if _after(state.confirmed_at, occurred_at) or _after(state.reopened_at, occurred_at):
        return []  # a later confirmation or reopening was already applied
    state.confirmed_at, state.rating, state.automatic = occurred_at, data.get("rating"), bool(data.get("automatic"))
    entries = _ticket_entries(session, data, ("pending",))
    _confirm(uow, state, entries, lock_totals(session, [e.volunteer_id for e in entries]), star_minutes)
    return entries


def ticket_reopened(uow: UnitOfWork, data: dict[str, Any], occurred_at: datetime,
                    star_minutes: Sequence[int]) -> list[Entry]:
    """Verified time of a reopened ticket goes back to pending until it is confirmed again."""
    session = uow.session
    state = lock_ticket(session, data["ticket_id"])
    if _after(state.reopened_at, occurred_at):
        return []
    state.reopened_at = occurred_at
    if _after(state.confirmed_at, occurred_at):
        return []  # confirmed again since: the reopening is history
    entries = _ticket_entries(session, data, ("verified",))
    totals = lock_totals(session, [e.volunteer_id for e in entries])
    for entry in entries:
        total = totals[entry.volunteer_id]
        _move(uow, entry, total, "pending", "tickets", "ticket_reopened")
        uow.emit("hours.unverified", {"entry_id": entry.id, "volunteer_id": entry.volunteer_id,
                                      "minutes": entry.minutes, "reason_code": "ticket_reopened",
                                      "verified_minutes": total.verified_minutes})
    for total in totals.values():
        _restar(uow, total, star_minutes)
    return entries


def ticket_cancelled(uow: UnitOfWork, data: dict[str, Any], occurred_at: datetime,
                     star_minutes: Sequence[int]) -> list[Entry]:
    """A cancelled ticket credits nobody: its pending and verified time is voided."""
    session = uow.session
    state = lock_ticket(session, data["ticket_id"])
    state.cancelled_at = occurred_at if not _after(state.cancelled_at, occurred_at) else state.cancelled_at
    entries = _ticket_entries(session, data, LIVE)
    totals = lock_totals(session, [e.volunteer_id for e in entries])
    _void(uow, entries, totals)
    for total in totals.values():
        _restar(uow, total, star_minutes)
    return entries


# -- reads --------------------------------------------------------------------------------------
def get_entry(session: Session, entry_id: Any) -> dict[str, Any]:
    entry = session.get(Entry, str(entry_id))
    if entry is None:
        raise NotFound(f"entry {entry_id} does not exist", {"entry_id": ["not found"]})
    return entry_view(entry)


def list_entries(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Entry)
    for key in ("volunteer_id", "organisation_id", "source_id"):
        if query.get(key):
            stmt = stmt.where(getattr(Entry, key) == str(query[key]))
    for key in ("source", "status"):
        if query.get(key):
            stmt = stmt.where(getattr(Entry, key) == query[key])
    return paginate(session, stmt, Entry.id, query["limit"], query.get("cursor"),
                    lambda rows: [entry_view(e) for e in rows])
