"""Time credited from tickets: a ticket's resolution records each volunteer's minutes,
its confirmation verifies them, a reopening takes the verification back and a
cancellation voids them. Events may arrive in any order; the ticket's row remembers
the moments already applied, and the rules decide what a late event still changes.

Each function takes the transaction's :class:`LedgerStore`; a batch's handler passes
the one its batch was prepared in, anything else gets a fresh one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.hours import rules
from services.hours.ledger import add, emit_recorded, emit_rejected, move, restar, verify
from services.hours.models import Entry, TicketState, VolunteerTotal
from services.hours.store import LedgerStore
from yilin.db import UnitOfWork


def _moments(state: TicketState) -> rules.TicketMoments:
    return rules.TicketMoments(state.confirmed_at, state.reopened_at, state.cancelled_at)


def ticket_resolved(
    uow: UnitOfWork,
    data: dict[str, Any],
    occurred_at: datetime,
    star_minutes: Sequence[int],
    store: LedgerStore | None = None,
) -> list[Entry]:
    """Record each volunteer's minutes as pending, dated by the local day of
    ``resolved_at``. Time that breaks the day rules is recorded as rejected (the
    event cannot be refused), so the ledger still shows it. A confirmation or
    cancellation already handled for a later moment applies at once."""
    store = store or LedgerStore(uow.session)
    ticket_id = data["ticket_id"]
    ticket_entries = store.ticket_entries(data)
    state = store.lock_ticket(ticket_id)
    episode = data["resolved_at"]
    day = rules.served_on(episode)
    organisation_id = store.team_organisation(data.get("team_id"))
    minutes_by_volunteer = rules.minutes_by_volunteer(data["volunteers"])
    totals = store.lock_totals(minutes_by_volunteer)
    recorded = []
    for volunteer_id, minutes in sorted(minutes_by_volunteer.items()):
        if any(e.volunteer_id == volunteer_id and e.episode == episode for e in ticket_entries):
            continue  # the same resolution announced again under a new event id
        problem = rules.day_problem(store.day(volunteer_id, day), day, minutes, None, None)
        entry = add(
            store,
            totals[volunteer_id],
            "tickets",
            volunteer_id=volunteer_id,
            source="ticket",
            source_id=ticket_id,
            organisation_id=organisation_id,
            team_id=data.get("team_id"),
            community_id=data["community_id"],
            served_on=day,
            minutes=minutes,
            content=data["category_code"][:200],
            episode=episode,
            status="rejected" if problem else "pending",
            reason_code="over_daily_limit" if problem else None,
            reason=problem[1] if problem else None,
        )
        emit_recorded(uow, entry)
        if problem:
            emit_rejected(uow, entry, "pending", totals[volunteer_id])
        else:
            recorded.append(entry)
    follow_up = rules.on_resolution(_moments(state), occurred_at)
    if follow_up == "void":
        _void(uow, store, recorded, totals)
    elif follow_up == "verify":
        _confirm(uow, store, state, recorded, totals, star_minutes)
    return recorded


def _ticket_entries(store: LedgerStore, data: dict[str, Any], statuses: Sequence[str]) -> list[Entry]:
    return sorted((e for e in store.ticket_entries(data) if e.status in statuses), key=lambda e: e.id)


def _confirm(
    uow: UnitOfWork,
    store: LedgerStore,
    state: TicketState,
    entries: Sequence[Entry],
    totals: dict[str, VolunteerTotal],
    star_minutes: Sequence[int],
) -> None:
    if not rules.confirmation_verifies(state.automatic):
        return
    for entry in entries:
        entry.rating = state.rating
        verify(uow, store, entry, totals[entry.volunteer_id], rules.RESIDENT_CONFIRMATION, star_minutes)


def _void(uow: UnitOfWork, store: LedgerStore, entries: Sequence[Entry], totals: dict[str, VolunteerTotal]) -> None:
    for entry in entries:
        previous = entry.status
        move(store, entry, totals[entry.volunteer_id], "void", "tickets", "ticket_cancelled")
        emit_rejected(uow, entry, previous, totals[entry.volunteer_id])


def ticket_confirmed(
    uow: UnitOfWork,
    data: dict[str, Any],
    occurred_at: datetime,
    star_minutes: Sequence[int],
    store: LedgerStore | None = None,
) -> list[Entry]:
    """The served resident's confirmation is the signature: verify the ticket's pending time."""
    store = store or LedgerStore(uow.session)
    state = store.lock_ticket(data["ticket_id"])
    if not rules.confirmation_applies(_moments(state), occurred_at):
        return []  # a later confirmation or reopening was already applied
    state.confirmed_at, state.rating, state.automatic = occurred_at, data.get("rating"), bool(data.get("automatic"))
    entries = _ticket_entries(store, data, ("pending",))
    _confirm(uow, store, state, entries, store.lock_totals([e.volunteer_id for e in entries]), star_minutes)
    return entries


def ticket_reopened(
    uow: UnitOfWork,
    data: dict[str, Any],
    occurred_at: datetime,
    star_minutes: Sequence[int],
    store: LedgerStore | None = None,
) -> list[Entry]:
    """Verified time of a reopened ticket goes back to pending until it is confirmed again."""
    store = store or LedgerStore(uow.session)
    state = store.lock_ticket(data["ticket_id"])
    if rules.after(state.reopened_at, occurred_at):
        return []
    state.reopened_at = occurred_at
    if rules.after(state.confirmed_at, occurred_at):
        return []  # confirmed again since: the reopening is history
    entries = _ticket_entries(store, data, ("verified",))
    totals = store.lock_totals([e.volunteer_id for e in entries])
    for entry in entries:
        total = totals[entry.volunteer_id]
        move(store, entry, total, "pending", "tickets", "ticket_reopened")
        uow.emit(
            "hours.unverified",
            {
                "entry_id": entry.id,
                "volunteer_id": entry.volunteer_id,
                "minutes": entry.minutes,
                "reason_code": "ticket_reopened",
                "verified_minutes": total.verified_minutes,
            },
        )
    for total in totals.values():
        restar(uow, store, total, star_minutes)
    return entries


def ticket_cancelled(
    uow: UnitOfWork,
    data: dict[str, Any],
    occurred_at: datetime,
    star_minutes: Sequence[int],
    store: LedgerStore | None = None,
) -> list[Entry]:
    """A cancelled ticket credits nobody: its pending and verified time is voided."""
    store = store or LedgerStore(uow.session)
    state = store.lock_ticket(data["ticket_id"])
    state.cancelled_at = occurred_at if not rules.after(state.cancelled_at, occurred_at) else state.cancelled_at
    entries = _ticket_entries(store, data, rules.LIVE)
    totals = store.lock_totals([e.volunteer_id for e in entries])
    _void(uow, store, entries, totals)
    for total in totals.values():
        restar(uow, store, total, star_minutes)
    return entries
