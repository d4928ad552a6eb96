"""The ticket aggregate's SQL: a ticket's row (locked for every change to it), its named
volunteers and history, the list page, and what dispatch, escalation and the report read.

Every change to a ticket first locks its row (:meth:`TicketStore.ticket` with
``lock=True``, ``SELECT … FOR UPDATE``), so concurrent changes from any replica queue on
it and each checks the state the one before it left."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam, case, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from services.tickets.models import Ticket, TicketVolunteer, Transition
from yilin.errors import NotFound
from yilin.plainreads import Query, Reader
from yilin.sqljson import json_array_agg, json_object

_TICKET_VOLUNTEERS = (
    select(TicketVolunteer)
    .where(TicketVolunteer.ticket_id.in_(bindparam("ids", expanding=True)))
    .order_by(TicketVolunteer.volunteer_id)
)  # built once, as the list statements


class Reach(NamedTuple):
    """The tickets a caller who sees only part of the district may list: those of these
    communities or teams, or (a volunteer) those naming them."""

    communities: Sequence[str]
    teams: Sequence[str]
    volunteer: str | None


def _filtered(stmt: Select[Any], filters: tuple[str, ...], own_only: bool, after_cursor: bool) -> Select[Any]:
    if own_only:
        stmt = stmt.where(Ticket.resident_id == bindparam("own_subject"))
    for key in filters:
        stmt = stmt.where(getattr(Ticket, key) == bindparam(key))
    if after_cursor:
        stmt = stmt.where(Ticket.id > bindparam("cursor"))
    return stmt.order_by(Ticket.id).limit(bindparam("limit"))


@cache
def _list_statement(filters: tuple[str, ...], own_only: bool, after_cursor: bool) -> Select[Any]:
    """The list page's statement for one combination of filters, built once: building
    it (and its cache key) costs several times running it."""
    return _filtered(select(Ticket), filters, own_only, after_cursor)


@cache
def _plain_list(filters: tuple[str, ...], own_only: bool, after_cursor: bool) -> Query:
    """The list page as a plain read (:mod:`yilin.plainreads`): each ticket's columns
    and its named volunteers as a JSON array, one statement compiled once."""
    named = select(
        json_array_agg(json_object(volunteer_id=TicketVolunteer.volunteer_id, minutes=TicketVolunteer.minutes))
    ).where(TicketVolunteer.ticket_id == Ticket.id)
    columns = select(*Ticket.__table__.c, named.scalar_subquery().label("named_volunteers"))
    return Query(_filtered(columns, filters, own_only, after_cursor))


def _list_params(filters: dict[str, str], limit: int, own_subject: str | None, cursor: str | None) -> dict[str, Any]:
    params: dict[str, Any] = dict(filters)
    params["limit"] = limit
    if own_subject is not None:
        params["own_subject"] = own_subject
    if cursor:
        params["cursor"] = cursor
    return params


class TicketReads:
    """The list page of a caller who sees every ticket or their own, read past the
    session (:mod:`yilin.plainreads`): the gateway's read of tickets."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def list_page(self, filters: dict[str, str], limit: int, own_subject: str | None, cursor: str | None) -> list[Any]:
        """Up to ``limit`` ticket rows by id after ``cursor``, matching ``filters`` (column
        → value), the resident's own (``own_subject``) when given; each with the ticket's
        columns and ``named_volunteers`` (a JSON array of volunteer id and minutes, in
        no order; ``None`` or empty for none). Locks nothing."""
        query = _plain_list(tuple(filters), own_subject is not None, bool(cursor))
        return self.reader.all(query, _list_params(filters, limit, own_subject, cursor))


class TicketStore:
    """Tickets' reads and writes within one session (it never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- one ticket ---------------------------------------------------------------------
    def ticket(self, ticket_id: Any, lock: bool = False) -> Ticket:
        """The ticket, or :class:`NotFound` naming ``ticket_id``; with ``lock`` its row is
        locked (``FOR UPDATE``) until the transaction ends."""
        ticket = self.session.get(Ticket, str(ticket_id), with_for_update=lock or None)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist", {"ticket_id": ["not found"]})
        return ticket

    def lock_if_present(self, ticket_id: str) -> Ticket | None:
        """The ticket with its row locked (``FOR UPDATE``) until the transaction ends, or
        ``None`` if there is no such ticket."""
        return self.session.get(Ticket, ticket_id, with_for_update=True)

    def add_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a new ticket, flushed so it has its id."""
        self.session.add(ticket)
        self.session.flush()
        return ticket

    def add_transition(self, transition: Transition) -> None:
        """Add a row to a ticket's history (written at the next flush)."""
        self.session.add(transition)

    def transitions(self, ticket_id: str) -> list[Transition]:
        """A ticket's history, oldest first. Locks nothing."""
        return list(
            self.session.scalars(
                select(Transition).where(Transition.ticket_id == ticket_id).order_by(Transition.at, Transition.id)
            )
        )

    # -- named volunteers -----------------------------------------------------------------
    def volunteers_of(self, ticket_ids: Sequence[str]) -> list[TicketVolunteer]:
        """The volunteers named on these tickets, in volunteer id order (one query for
        the lot). Locks nothing."""
        return list(self.session.scalars(_TICKET_VOLUNTEERS, {"ids": list(ticket_ids)}))

    def assigned_ids(self, ticket_id: str) -> list[str]:
        """The ids of the volunteers named on a ticket, in order. Locks nothing."""
        return list(
            self.session.scalars(
                select(TicketVolunteer.volunteer_id)
                .where(TicketVolunteer.ticket_id == ticket_id)
                .order_by(TicketVolunteer.volunteer_id)
            )
        )

    def volunteer_rows(self, ticket_id: str) -> list[TicketVolunteer]:
        """The rows naming a ticket's volunteers (to record their minutes on). Locks
        nothing beyond the ticket the caller already holds."""
        return list(self.session.scalars(select(TicketVolunteer).where(TicketVolunteer.ticket_id == ticket_id)))

    def clear_volunteers(self, ticket_id: str) -> None:
        """Delete every volunteer named on the ticket (the caller holds its lock)."""
        self.session.execute(delete(TicketVolunteer).where(TicketVolunteer.ticket_id == ticket_id))

    def add_volunteers(self, ticket_id: str, volunteer_ids: Sequence[str]) -> None:
        """Name these volunteers on the ticket, minutes not yet recorded, in one
        statement (none for an empty list: a partner's ticket may name nobody)."""
        if not volunteer_ids:
            return
        self.session.execute(
            insert(TicketVolunteer),
            [{"ticket_id": ticket_id, "volunteer_id": v, "minutes": None} for v in volunteer_ids],
        )

    # -- many tickets -----------------------------------------------------------------------
    def list_page(
        self,
        filters: dict[str, str],
        limit: int,
        own_subject: str | None,
        cursor: str | None,
        reach: Reach | None,
    ) -> Sequence[Ticket]:
        """Up to ``limit`` tickets by id after ``cursor``, matching ``filters`` (column →
        value), the resident's own (``own_subject``) or those within ``reach`` when
        given. Locks nothing."""
        own_only = own_subject is not None
        params = _list_params(filters, limit, own_subject, cursor)
        stmt = _list_statement(tuple(filters), own_only, bool(cursor))
        if reach is not None:
            within = [Ticket.community_id.in_(reach.communities), Ticket.team_id.in_(reach.teams)]
            if reach.volunteer is not None:
                within.append(
                    Ticket.id.in_(
                        select(TicketVolunteer.ticket_id).where(TicketVolunteer.volunteer_id == reach.volunteer)
                    )
                )
            stmt = stmt.where(or_(*within))
        return self.session.scalars(stmt, params).all()

    def loads(self, holder_ids: Sequence[str], states: Sequence[str]) -> dict[str, int]:
        """Tickets in ``states`` per team or partner id (ids of either). Locks nothing."""
        loads: dict[str, int] = {}
        for column in (Ticket.team_id, Ticket.partner_id):
            rows = self.session.execute(
                select(column, func.count()).where(column.in_(holder_ids), Ticket.state.in_(states)).group_by(column)
            )
            loads.update({holder: count for holder, count in rows})
        return loads

    def sla_counts(self, holder_ids: Sequence[str], finished: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Per team or partner id: (its tickets in ``finished`` states, how many of them
        missed a deadline). Locks nothing."""
        late = or_(
            Ticket.assign_breached.is_(True),
            Ticket.resolve_breached.is_(True),
            and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at > Ticket.resolve_due_at),
        )
        counts: dict[str, tuple[int, int]] = {}
        for column in (Ticket.team_id, Ticket.partner_id):
            rows = self.session.execute(
                select(column, func.count(), func.sum(case((late, 1), else_=0)))
                .where(column.in_(holder_ids), Ticket.state.in_(finished))
                .group_by(column)
            )
            counts.update({holder: (int(total), int(breached or 0)) for holder, total, breached in rows})
        return counts

    def awaiting_social_worker(self, limit: int) -> list[tuple[str, str]]:
        """(ticket id, community id) of escalated tickets still open with no social worker
        named, longest escalated first. Locks nothing."""
        rows = self.session.execute(
            select(Ticket.id, Ticket.community_id)
            .where(
                Ticket.escalated_at.is_not(None),
                Ticket.social_worker_id.is_(None),
                Ticket.state.not_in(("confirmed", "cancelled")),
            )
            .order_by(Ticket.escalated_at)
            .limit(limit)
        )
        return [(ticket_id, community_id) for ticket_id, community_id in rows]

    def report_rows(
        self,
        community_id: str | None,
        grid_id: str | None,
        category_code: str | None,
        reported_from: datetime | None,
        reported_before: datetime | None,
    ) -> list[Any]:
        """The columns the service report counts (named rows), for the tickets matching the
        filters given and reported in [``reported_from``, ``reported_before``). Locks nothing."""
        stmt = select(
            Ticket.community_id,
            Ticket.grid_id,
            Ticket.category_code,
            Ticket.state,
            Ticket.reported_at,
            Ticket.assigned_at,
            Ticket.resolved_at,
            Ticket.closed_at,
            Ticket.assign_due_at,
            Ticket.resolve_due_at,
            Ticket.assign_breached,
            Ticket.resolve_breached,
            Ticket.rating,
        )
        if community_id:
            stmt = stmt.where(Ticket.community_id == community_id)
        if grid_id:
            stmt = stmt.where(Ticket.grid_id == grid_id)
        if category_code:
            stmt = stmt.where(Ticket.category_code == category_code)
        if reported_from:
            stmt = stmt.where(Ticket.reported_at >= reported_from)
        if reported_before:
            stmt = stmt.where(Ticket.reported_at < reported_before)
        return list(self.session.execute(stmt))
