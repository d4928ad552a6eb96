"""Row locks of the hour ledger, and what a batch of ticket events reads, loaded once.

Every credit to a volunteer first locks that volunteer's ``volunteer_totals`` row, and
every handler of a ticket's events locks its ``ticket_states`` row: concurrent work on
one volunteer or one ticket (from many replicas) is serialised. Locks are always taken
tickets first, then totals, each set in id order, so transactions locking overlapping
sets queue instead of deadlocking. A transaction remembers the rows it holds
(``Session.info``), so taking a lock twice costs nothing.

A batch of ticket events is prepared with :func:`prepare_ticket_batch`: a handful of
statements lock its tickets and totals and load the entries it will read (the tickets'
own, and the volunteers' days), so each event then runs without a query of its own. An
event applied outside such a batch prepares its own (:func:`prepared`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.hours.models import Entry, TeamView, TicketState, VolunteerTotal, utcnow
from services.hours.settings import LOCAL_TIME
from yilin.db import insert_ignoring_conflicts

_BATCH = "hours.ticket_batch"


def lock_total(session: Session, volunteer_id: str) -> VolunteerTotal:
    """One volunteer's totals row, created if missing and locked."""
    return lock_totals(session, [volunteer_id])[volunteer_id]


def lock_totals(session: Session, volunteer_ids: Iterable[str]) -> dict[str, VolunteerTotal]:
    """The volunteers' totals rows, created if missing, locked until the transaction ends
    (two statements however many), in id order."""
    return _lock_rows(session, VolunteerTotal, VolunteerTotal.volunteer_id, volunteer_ids, lambda vid: {
        "volunteer_id": vid, "verified_minutes": 0, "pending_minutes": 0, "star_level": 0, "selected": False,
        "updated_at": utcnow()})


def lock_ticket(session: Session, ticket_id: str) -> TicketState:
    """One ticket's state row, created if missing and locked."""
    return lock_tickets(session, [ticket_id])[ticket_id]


def lock_tickets(session: Session, ticket_ids: Iterable[str]) -> dict[str, TicketState]:
    """The tickets' state rows, created if missing, locked until the transaction ends:
    every handler of one ticket's events runs one at a time, so none misses what another
    just did."""
    return _lock_rows(session, TicketState, TicketState.ticket_id, ticket_ids,
                      lambda tid: {"ticket_id": tid, "automatic": False})


def _lock_rows(session: Session, model: Any, key: Any, ids: Iterable[str],
               blank: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(set(ids))
    held: dict[str, Any] = session.info.setdefault(("hours.locked", model.__tablename__), {})
    wanted = [i for i in ordered if i not in held]
    if wanted:
        # executemany form: one statement on PostgreSQL, compiled once whatever the count
        session.execute(insert_ignoring_conflicts(session, model.__table__), [blank(i) for i in wanted])
        rows = session.scalars(select(model).where(key.in_(wanted)).order_by(key).with_for_update()
                               .execution_options(populate_existing=True))
        held.update((getattr(row, key.key), row) for row in rows)
    return {i: held[i] for i in ordered}


def served_on(resolved_at: str) -> date:
    """The local day a ticket's time counts on: the day of its resolution."""
    instant = datetime.fromisoformat(resolved_at.replace("Z", "+00:00"))
    return (instant if instant.tzinfo else instant.replace(tzinfo=LOCAL_TIME)).astimezone(LOCAL_TIME).date()


@dataclass
class TicketBatch:
    """The entries a batch of ticket events reads, by ticket and by volunteer's day,
    kept current as the batch adds entries (statuses live on the entries themselves)."""

    by_ticket: dict[str, list[Entry]] = field(default_factory=dict)
    by_day: dict[tuple[str, date], list[Entry]] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        if entry.source == "ticket" and entry.source_id in self.by_ticket:
            self.by_ticket[entry.source_id].append(entry)
        if (entry.volunteer_id, entry.served_on) in self.by_day:
            self.by_day[(entry.volunteer_id, entry.served_on)].append(entry)


def prepare_ticket_batch(session: Session, payloads: Sequence[Any]) -> None:
    """Lock and load, before a batch of ticket events is applied, what it will touch:
    its tickets, their entries, the running totals of every volunteer named or credited,
    the volunteers' days and the teams. What an earlier call of this transaction already
    prepared is kept, not loaded again. Payloads are not validated yet: what is not
    understood here is left to the handler, which rejects it."""
    batch: TicketBatch = session.info.setdefault(_BATCH, TicketBatch())
    items = [p for p in payloads if isinstance(p, dict) and isinstance(p.get("ticket_id"), str)]
    tickets = sorted({p["ticket_id"] for p in items} - batch.by_ticket.keys())
    if not tickets:
        return
    lock_tickets(session, tickets)
    batch.by_ticket.update((t, []) for t in tickets)
    entries = list(session.scalars(select(Entry).where(Entry.source == "ticket", Entry.source_id.in_(tickets))
                                   .order_by(Entry.id).with_for_update()))
    for entry in entries:
        batch.by_ticket[entry.source_id].append(entry)
    named = {(item["volunteer_id"], p.get("resolved_at")) for p in items for item in (p.get("volunteers") or ())
             if isinstance(item, dict) and isinstance(item.get("volunteer_id"), str)}
    lock_totals(session, {volunteer for volunteer, _ in named} | {e.volunteer_id for e in entries})
    days = set()
    for volunteer, resolved_at in named:
        try:
            days.add((volunteer, served_on(resolved_at)))
        except (TypeError, ValueError, AttributeError):
            continue  # malformed: the handler rejects it
    days -= batch.by_day.keys()
    if days:
        batch.by_day.update((day, []) for day in days)
        for entry in session.scalars(select(Entry).where(Entry.volunteer_id.in_({v for v, _ in days}),
                                                         Entry.served_on.in_({d for _, d in days}))):
            if (entry.volunteer_id, entry.served_on) in days:
                batch.by_day[(entry.volunteer_id, entry.served_on)].append(entry)
    teams = {p["team_id"] for p in items if isinstance(p.get("team_id"), str)}
    if teams:
        session.scalars(select(TeamView).where(TeamView.id.in_(teams))).all()  # into the identity map


def prepared(session: Session, payload: dict[str, Any]) -> TicketBatch:
    """This transaction's batch, prepared for ``payload``'s ticket: by the handler's
    batch, or now, for this event alone."""
    prepare_ticket_batch(session, [payload])
    return session.info[_BATCH]


def ticket_batch(session: Session) -> TicketBatch | None:
    """The prepared batch of this transaction, if any."""
    return session.info.get(_BATCH)
