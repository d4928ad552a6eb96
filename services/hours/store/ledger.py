"""All of the hour ledger's SQL: row locks, the reads the rules need, and what a batch of
ticket events loads at once. One :class:`LedgerStore` per transaction; it is the
transaction's memory of the rows it holds and of the batch it prepared, passed from the
handler to the ledger instead of hidden in the session.

Every credit to a volunteer first locks that volunteer's ``volunteer_totals`` row, and
every handler of a ticket's events locks its ``ticket_states`` row: concurrent work on
one volunteer or one ticket (from many replicas) is serialised. Locks are always taken
tickets first, then totals, each set in id order, so transactions locking overlapping
sets queue instead of deadlocking; taking a lock twice costs nothing.

A batch of ticket events is prepared with :meth:`LedgerStore.prepare_tickets`: a handful
of statements lock its tickets and totals and load the entries it will read (the
tickets' own, and the volunteers' days), so each event then runs without a query of its
own. An event applied outside such a batch prepares its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.hours.models import (
    ActivitySource,
    AttendanceSheet,
    Entry,
    EntryTransition,
    OrganisationView,
    StarChange,
    TeamView,
    TicketState,
    VolunteerTotal,
    VolunteerView,
    utcnow,
)
from services.hours.permissions import EntryScope
from services.hours.rules import LIVE, served_on
from yilin.behind import WriteBehind, insert_missing
from yilin.db import insert_ignoring_conflicts
from yilin.errors import NotFound
from yilin.paging import paginate
from yilin.rows import found
from yilin.tables import new_id


@dataclass
class TicketBatch:
    """The entries a batch of ticket events reads, by ticket and by volunteer's day,
    kept current as the batch adds entries (statuses live on the entries themselves)."""

    by_ticket: dict[str, list[Entry]] = field(default_factory=dict)
    by_day: dict[tuple[str, date], list[Entry]] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        """Keep a new entry where the batch's later events will look for it."""
        if entry.source == "ticket" and entry.source_id in self.by_ticket:
            self.by_ticket[entry.source_id].append(entry)
        if (entry.volunteer_id, entry.served_on) in self.by_day:
            self.by_day[(entry.volunteer_id, entry.served_on)].append(entry)


class LedgerStore:
    """The ledger's reads and writes within one transaction."""

    def __init__(self, session: Session, behind: WriteBehind | None = None) -> None:
        self.session = session
        self.batch = TicketBatch()
        self._held: dict[str, dict[str, Any]] = {}
        self.behind = behind

    @classmethod
    def for_batch(cls, session: Session) -> "LedgerStore":
        """A store whose entries, totals and ticket states stay out of the ORM session and
        are written with Core statements by :meth:`write` (call it before the commit)."""
        behind = WriteBehind(session)
        behind.watch(Entry, ("status", "decided_by", "decided_at", "reason_code", "reason", "rating"))
        behind.watch(
            VolunteerTotal, ("verified_minutes", "pending_minutes", "star_level", "selected"), {"updated_at": utcnow}
        )
        behind.watch(TicketState, ("confirmed_at", "automatic", "rating", "reopened_at", "cancelled_at"))
        return cls(session, behind)

    def write(self) -> None:
        """Write what this store kept out of the session (nothing for an ORM store)."""
        if self.behind is not None:
            self.behind.flush()

    def _load(self, model: type[Any], statement: Any) -> list[Any]:
        """``statement``'s rows of ``model``: plain records held by the write-behind in a
        batch's store, ORM objects otherwise (``statement`` selects ``model``)."""
        if self.behind is not None:
            return self.behind.load(model, statement.with_only_columns(*model.__table__.columns))
        return list(self.session.scalars(statement))

    # -- locks ----------------------------------------------------------------------
    def lock_total(self, volunteer_id: str) -> VolunteerTotal:
        """One volunteer's totals row, created if missing and locked."""
        return self.lock_totals([volunteer_id])[volunteer_id]

    def lock_totals(self, volunteer_ids: Iterable[str]) -> dict[str, VolunteerTotal]:
        """The volunteers' totals rows, created if missing, locked until the transaction
        ends (two statements however many), in id order."""
        return self._lock_rows(
            VolunteerTotal,
            VolunteerTotal.volunteer_id,
            volunteer_ids,
            lambda vid: {
                "volunteer_id": vid,
                "verified_minutes": 0,
                "pending_minutes": 0,
                "star_level": 0,
                "selected": False,
                "updated_at": utcnow(),
            },
        )

    def lock_ticket(self, ticket_id: str) -> TicketState:
        """One ticket's state row, created if missing and locked."""
        return self.lock_tickets([ticket_id])[ticket_id]

    def lock_tickets(self, ticket_ids: Iterable[str]) -> dict[str, TicketState]:
        """The tickets' state rows, created if missing, locked until the transaction ends:
        every handler of one ticket's events runs one at a time, so none misses what
        another just did."""
        return self._lock_rows(
            TicketState, TicketState.ticket_id, ticket_ids, lambda tid: {"ticket_id": tid, "automatic": False}
        )

    def _lock_rows(
        self, model: Any, key: Any, ids: Iterable[str], blank: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        ordered = sorted(set(ids))
        held = self._held.setdefault(model.__tablename__, {})
        wanted = [i for i in ordered if i not in held]
        if wanted:
            insert_missing(self.session, model.__table__, [blank(i) for i in wanted])  # one statement
            rows = self._load(
                model,
                select(model)
                .where(key.in_(wanted))
                .order_by(key)
                .with_for_update()
                .execution_options(populate_existing=True),
            )
            held.update((getattr(row, key.key), row) for row in rows)
        return {i: held[i] for i in ordered}

    # -- a batch of ticket events ------------------------------------------------------
    def prepare_tickets(self, payloads: Sequence[Any]) -> None:
        """Lock and load, before a batch of ticket events is applied, what it will touch:
        its tickets, their entries, the running totals of every volunteer named or
        credited, the volunteers' days and the teams. What this store already prepared
        is kept, not loaded again. Payloads are not validated yet: what is not understood
        here is left to the handler, which rejects it."""
        batch = self.batch
        items = [p for p in payloads if isinstance(p, dict) and isinstance(p.get("ticket_id"), str)]
        tickets = sorted({p["ticket_id"] for p in items} - batch.by_ticket.keys())
        if not tickets:
            return
        self.write()  # what the batch changed so far, before reading rows again
        self.lock_tickets(tickets)
        batch.by_ticket.update((t, []) for t in tickets)
        entries = self._load(
            Entry,
            select(Entry)
            .where(Entry.source == "ticket", Entry.source_id.in_(tickets))
            .order_by(Entry.id)
            .with_for_update(),
        )
        for entry in entries:
            batch.by_ticket[entry.source_id].append(entry)
        named = {
            (item["volunteer_id"], p.get("resolved_at"))
            for p in items
            for item in (p.get("volunteers") or ())
            if isinstance(item, dict) and isinstance(item.get("volunteer_id"), str)
        }
        self.lock_totals({volunteer for volunteer, _ in named} | {e.volunteer_id for e in entries})
        days = set()
        for volunteer, resolved_at in named:
            try:
                days.add((volunteer, served_on(resolved_at)))
            except (TypeError, ValueError, AttributeError):
                continue  # malformed: the handler rejects it
        days -= batch.by_day.keys()
        if days:
            batch.by_day.update((day, []) for day in days)
            for entry in self._load(
                Entry,
                select(Entry).where(
                    Entry.volunteer_id.in_({v for v, _ in days}), Entry.served_on.in_({d for _, d in days})
                ),
            ):
                if (entry.volunteer_id, entry.served_on) in days:
                    batch.by_day[(entry.volunteer_id, entry.served_on)].append(entry)
        teams = {p["team_id"] for p in items if isinstance(p.get("team_id"), str)}
        if teams:
            self.session.scalars(select(TeamView).where(TeamView.id.in_(teams))).all()  # into the identity map

    def ticket_entries(self, payload: dict[str, Any]) -> list[Entry]:
        """The entries of ``payload``'s ticket, prepared now if no batch did."""
        self.prepare_tickets([payload])
        return self.batch.by_ticket[payload["ticket_id"]]

    # -- reads ------------------------------------------------------------------------
    def day(self, volunteer_id: str, day: date) -> list[Any]:
        """The live time credited to a volunteer on a day: from the batch when it holds
        that day, else through the (volunteer_id, served_on) index."""
        if (volunteer_id, day) in self.batch.by_day:
            return [e for e in self.batch.by_day[(volunteer_id, day)] if e.status in LIVE]
        self.write()
        return list(
            self.session.execute(
                select(Entry.id, Entry.minutes, Entry.start_minute, Entry.end_minute).where(
                    Entry.volunteer_id == volunteer_id, Entry.served_on == day, Entry.status.in_(LIVE)
                )
            ).all()
        )

    def entry_for_update(self, entry_id: Any, field_name: str = "entry_id") -> Entry:
        """One entry, locked; :class:`NotFound` naming ``field_name`` if there is none."""
        entry = self.session.scalars(
            select(Entry).where(Entry.id == str(entry_id)).with_for_update().execution_options(populate_existing=True)
        ).one_or_none()
        if entry is None:
            raise NotFound(f"entry {entry_id} does not exist", {field_name: ["not found"]})
        return entry

    def entry(self, entry_id: Any) -> Entry:
        """One entry; :class:`NotFound` if there is none."""
        return found(self.session.get(Entry, str(entry_id)), f"entry {entry_id} does not exist", "entry_id")

    def sheet(self, sheet_id: Any) -> AttendanceSheet:
        """One attendance sheet; :class:`NotFound` if there is none."""
        return found(self.session.get(AttendanceSheet, str(sheet_id)), f"sheet {sheet_id} does not exist", "sheet_id")

    def sheet_entries(self, sheet_id: str) -> list[Entry]:
        """A sheet's entries in the order they were recorded."""
        return list(
            self.session.scalars(
                select(Entry)
                .where(Entry.source == "activity", Entry.source_id == sheet_id)
                .order_by(Entry.created_at, Entry.id)
            )
        )

    def pending_sheet_entries(self, sheet_id: str) -> list[Entry]:
        """A sheet's pending entries, locked, in id order."""
        return list(
            self.session.scalars(
                select(Entry)
                .where(Entry.source == "activity", Entry.source_id == sheet_id, Entry.status == "pending")
                .order_by(Entry.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )

    def open_correction(self, entry_id: str) -> str | None:
        """The id of a correction of ``entry_id`` still waiting for a decision."""
        return self.session.scalar(select(Entry.id).where(Entry.corrects_id == entry_id, Entry.status == "requested"))

    def on_ticket(self, ticket_id: str, volunteer_id: str) -> bool:
        """Whether ``volunteer_id`` has time recorded on the ticket (is named on it)."""
        return (
            self.session.scalar(
                select(Entry.id)
                .where(Entry.source == "ticket", Entry.source_id == ticket_id, Entry.volunteer_id == volunteer_id)
                .limit(1)
            )
            is not None
        )

    def in_activity(self, activity_id: str, subject: str) -> bool:
        """Whether ``subject`` organised the activity or has time recorded from it."""
        source = self.session.get(ActivitySource, activity_id)
        if source is not None and source.organiser_id == subject:
            return True
        return (
            self.session.scalar(
                select(Entry.id)
                .where(Entry.source == "attendance", Entry.source_id == activity_id, Entry.volunteer_id == subject)
                .limit(1)
            )
            is not None
        )

    def record_activity(self, activity_id: str, organisation_id: str, organiser_id: str) -> bool:
        """Remember an activity's organiser; ``False`` when its attendance was credited before."""
        inserted = self.session.execute(
            insert_ignoring_conflicts(self.session, ActivitySource.__table__).returning(ActivitySource.activity_id),
            {"activity_id": activity_id, "organisation_id": organisation_id, "organiser_id": organiser_id},
        )
        return bool(list(inserted.scalars()))

    def add_rows(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """Insert rows announced by another service, once however often announced."""
        if rows:
            self.session.execute(insert_ignoring_conflicts(self.session, model.__table__), rows)

    def organisation_known(self, organisation_id: str) -> bool:
        return self.session.get(OrganisationView, organisation_id) is not None

    def volunteer_known(self, volunteer_id: str) -> bool:
        return self.session.get(VolunteerView, volunteer_id) is not None

    def known_volunteers(self, volunteer_ids: Iterable[str]) -> set[str]:
        """Which of these volunteers the projection knows."""
        return set(self.session.scalars(select(VolunteerView.id).where(VolunteerView.id.in_(list(volunteer_ids)))))

    def team_organisation(self, team_id: str | None) -> str | None:
        """The organisation a team belongs to, if the team is known."""
        team = self.session.get(TeamView, team_id) if team_id else None
        return team.organisation_id if team else None

    def list_entries(self, query: dict[str, Any], view: Callable[[Entry], Any], scope: EntryScope) -> dict[str, Any]:
        """A page of the entries within ``scope`` matching ``query``'s filters."""
        stmt = select(Entry)
        if scope.volunteer_id is not None:
            stmt = stmt.where(Entry.volunteer_id == scope.volunteer_id)
        elif not scope.everyone:  # an organisation's: its volunteers' and those it recorded
            members = select(VolunteerView.id).where(VolunteerView.organisation_id == scope.organisation_id)
            stmt = stmt.where(or_(Entry.organisation_id == scope.organisation_id, Entry.volunteer_id.in_(members)))
        for key in ("volunteer_id", "organisation_id", "source_id"):
            if query.get(key):
                stmt = stmt.where(getattr(Entry, key) == str(query[key]))
        for key in ("source", "status"):
            if query.get(key):
                stmt = stmt.where(getattr(Entry, key) == query[key])
        return paginate(
            self.session, stmt, Entry.id, query["limit"], query.get("cursor"), lambda rows: [view(e) for e in rows]
        )

    # -- writes -----------------------------------------------------------------------
    def add_sheet(self, **columns: Any) -> AttendanceSheet:
        sheet = AttendanceSheet(**columns)
        self.session.add(sheet)
        self.session.flush()
        return sheet

    def add_entry(self, actor: str, **columns: Any) -> Entry:
        """A new entry and its first transition, known to the batch."""
        # id and time are set here, not at flush: the transition names the entry without a
        # flush per entry, and entries added together keep the order they were added in
        if self.behind is not None:
            entry = self.behind.new(Entry, id=new_id(), created_at=utcnow(), requested_by=actor, **columns)
        else:
            entry = Entry(id=new_id(), created_at=utcnow(), requested_by=actor, **columns)
            self.session.add(entry)
        self.batch.add(entry)
        self._log_transition(entry.id, None, entry.status, actor, entry.reason_code)
        return entry

    def _log_transition(
        self, entry_id: str, from_status: str | None, to_status: str, actor: str, reason_code: str | None
    ) -> None:
        row = {
            "entry_id": entry_id,
            "from_status": from_status,
            "to_status": to_status,
            "actor": actor,
            "reason_code": reason_code,
            "at": utcnow(),
        }
        if self.behind is not None:
            self.behind.log(EntryTransition, row)
        else:
            self.session.add(EntryTransition(**row))

    def set_status(
        self, entry: Entry, to_status: str, actor: str, reason_code: str | None = None, reason: str | None = None
    ) -> None:
        """Change an entry's status and log the transition."""
        self._log_transition(entry.id, entry.status, to_status, actor, reason_code)
        entry.status = to_status
        entry.decided_by, entry.decided_at = actor, utcnow()
        if reason_code is not None:
            entry.reason_code, entry.reason = reason_code, reason

    def log_star_change(self, total: VolunteerTotal, previous: int) -> None:
        row = {
            "volunteer_id": total.volunteer_id,
            "level": total.star_level,
            "previous_level": previous,
            "verified_minutes": total.verified_minutes,
            "at": utcnow(),
        }
        if self.behind is not None:
            self.behind.log(StarChange, row)
        else:
            self.session.add(StarChange(**row))
