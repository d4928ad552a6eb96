"""Tickets: opening, dispatch and every lifecycle transition, as plain functions over a
unit of work. Inputs arrive validated by :mod:`services.tickets.schemas`; the legal
transitions come from :mod:`services.tickets.rules`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy.orm import Session

from services.tickets.catalogue import category_by_code, check_attributes
from services.tickets.models import Ticket, Transition, utcnow
from services.tickets.permissions import ACTORS, OPENERS
from services.tickets.rules import EVENT_OF_ACTION, IllegalTransition, allowed_actions, aware
from services.tickets.rules import next_state as _rule_next_state
from services.tickets.store.tickets import Reach, TicketReads, TicketStore
from services.tickets.visibility import Visibility, reduce_resident, sees
from yilin.db import UnitOfWork
from yilin.errors import Conflict, Forbidden, InvalidInput
from yilin.identity import Identity
from yilin.paging import page
from yilin.pii import PersonalData, mask_phone
from yilin.plainreads import Reader

# Back-dating is bounded (a need recorded later than this is a new need) and audited:
# SLA deadlines, and so the minutes a volunteer may claim, count from reported_at.
MAX_REPORT_AGE = timedelta(days=2)
CLOCK_SKEW = timedelta(minutes=5)


# -- views --------------------------------------------------------------------------
def ticket_views(session: Session, tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    """Views of many tickets with one query for their volunteers."""
    volunteers: dict[str, list[dict[str, Any]]] = {t.id: [] for t in tickets}
    if tickets:
        for row in TicketStore(session).volunteers_of(list(volunteers)):
            volunteers[row.ticket_id].append({"volunteer_id": row.volunteer_id, "minutes": row.minutes})
    return [_view(t, volunteers[t.id]) for t in tickets]


def _view(t: Any, volunteers: list[dict[str, Any]]) -> dict[str, Any]:
    """A ticket's view from its row (an entity or a plain read's row: the same names)."""
    return {
        "id": t.id,
        "community_id": t.community_id,
        "category_code": t.category_code,
        "state": t.state,
        "allowed_actions": allowed_actions(t.state),
        "channel": t.channel,
        "recorded_by": t.recorded_by,
        "resident": {
            "id": t.resident_id,
            "name": t.resident_name,
            "phone": t.resident_phone_masked,
            "address": t.address,
        },
        "description": t.description,
        "attributes": dict(t.attributes or {}),
        "needs_social_worker": t.needs_social_worker,
        "grid_id": t.grid_id,
        "beneficiary_groups": list(t.beneficiary_groups or []),
        "team_id": t.team_id,
        "partner_id": t.partner_id,
        "volunteers": volunteers,
        "social_worker": {"volunteer_id": t.social_worker_id, "name": t.social_worker_name or ""}
        if t.social_worker_id
        else None,
        "reported_at": aware(t.reported_at),
        "assign_due_at": aware(t.assign_due_at),
        "resolve_due_at": aware(t.resolve_due_at),
        "assigned_at": aware(t.assigned_at),
        "started_at": aware(t.started_at),
        "resolved_at": aware(t.resolved_at),
        "closed_at": aware(t.closed_at),
        "escalated_at": aware(t.escalated_at),
        "escalation_reason": t.escalation_reason,
        "rating": t.rating,
        "comment": t.comment,
        "auto_confirmed": t.auto_confirmed,
        "created_at": aware(t.created_at),
    }


def ticket_view(session: Session, ticket: Ticket) -> dict[str, Any]:
    return ticket_views(session, [ticket])[0]


def _ref(ticket: Ticket) -> dict[str, Any]:
    """The identifying part of every ticket event: ids and codes, no personal data."""
    return {"ticket_id": ticket.id, "community_id": ticket.community_id, "category_code": ticket.category_code}


# -- access -------------------------------------------------------------------------
def ticket_row(session: Session, ticket_id: Any, lock: bool = False) -> Ticket:
    """The ticket (its row locked until the transaction ends with ``lock``), or 404."""
    return TicketStore(session).ticket(ticket_id, lock)


def _check_owner(caller: Identity, ticket: Ticket) -> None:
    if caller.role == "resident" and ticket.resident_id != caller.subject:
        raise Forbidden("this ticket belongs to another resident", {"ticket_id": ["not your ticket"]})


def assigned_ids(session: Session, ticket: Ticket) -> list[str]:
    return TicketStore(session).assigned_ids(ticket.id)


def _authorise(session: Session, caller: Identity, ticket: Ticket, action: str) -> None:
    if caller.role not in ACTORS[action]:
        raise Forbidden(f"the role {caller.role} may not {action} a ticket", {"role": [caller.role]})
    _check_owner(caller, ticket)
    # A volunteer works only on tickets they are named on.
    if (
        caller.role == "volunteer"
        and action in ("start", "resolve")
        and caller.subject not in assigned_ids(session, ticket)
    ):
        raise Forbidden("you are not named on this ticket", {"ticket_id": ["not assigned to you"]})


def next_state(state: str, action: str) -> str:
    """The state after ``action``; :class:`Conflict` (409) naming the allowed actions if illegal."""
    try:
        return _rule_next_state(state, action)
    except IllegalTransition as exc:
        raise Conflict(exc.message, exc.details) from None


def apply_transition(
    uow: UnitOfWork,
    caller: Identity,
    ticket: Ticket,
    action: str,
    note: str | None,
    event: dict[str, Any] | None,
    now: datetime,
    event_type: str | None = None,
) -> None:
    """Apply ``action`` (already checked legal), record it in the history and emit its
    event (``event_type``, or the action's own)."""
    target = next_state(ticket.state, action)
    TicketStore(uow.session).add_transition(
        Transition(
            ticket_id=ticket.id,
            action=action,
            from_state=ticket.state,
            to_state=target,
            actor=caller.subject,
            actor_role=caller.role,
            note=note,
            at=now,
        )
    )
    ticket.state = target
    ticket.updated_at = now
    uow.emit(event_type or EVENT_OF_ACTION[action], {**_ref(ticket), **(event or {})})


def begin(uow: UnitOfWork, caller: Identity, ticket_id: Any, action: str) -> Ticket:
    """Lock the ticket, authorise the caller, check the transition: all before any write."""
    ticket = ticket_row(uow.session, ticket_id, lock=True)
    _authorise(uow.session, caller, ticket, action)
    next_state(ticket.state, action)
    return ticket


def _check_visible(session: Session, v: Visibility, ticket: Ticket) -> None:
    if not sees(v, ticket, set(assigned_ids(session, ticket))):
        raise Forbidden("this ticket is not yours to see", {"ticket_id": ["not yours to see"]})


def _shown(v: Visibility, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [reduce_resident(view) for view in views] if v.reduced else views


def require_visible(session: Session, v: Visibility, ticket_id: Any) -> None:
    """Refuse a caller acting on a ticket it does not see (another tenant's), before any
    rule of the ticket's state can answer for it."""
    _check_visible(session, v, ticket_row(session, ticket_id))


def get_ticket(session: Session, v: Visibility, ticket_id: Any) -> dict[str, Any]:
    ticket = ticket_row(session, ticket_id)
    _check_visible(session, v, ticket)
    return _shown(v, [ticket_view(session, ticket)])[0]


LIST_FILTERS = ("state", "category_code", "resident_id", "community_id", "team_id", "partner_id", "grid_id")


def list_tickets(session: Session, v: Visibility, query: dict[str, Any]) -> dict[str, Any]:
    """A page of the tickets ``v`` sees (any caller; see :func:`list_tickets_plainly`)."""
    filters = {key: str(query[key]) for key in LIST_FILTERS if query.get(key)}
    own_only = v.resident is not None and not v.everything  # residents see their own tickets only
    reach = None if v.everything or own_only else Reach(v.communities, v.teams, v.volunteer)
    own_subject = v.resident if own_only else None
    rows = TicketStore(session).list_page(filters, query["limit"] + 1, own_subject, query.get("cursor"), reach)
    return page(
        rows, query["limit"], lambda ticket: ticket.id, lambda tickets: _shown(v, ticket_views(session, tickets))
    )


def lists_plainly(v: Visibility) -> bool:
    """Whether ``v``'s list page is a plain read (:func:`list_tickets_plainly`): a caller
    who sees every ticket or only their own; the others' reach is lists of communities
    and teams, which a statement compiled once does not take."""
    return v.everything or v.resident is not None


def list_tickets_plainly(reader: Reader, v: Visibility, query: dict[str, Any]) -> dict[str, Any]:
    """:func:`list_tickets` for a caller :func:`lists_plainly` admits, in one statement
    past the session: the gateway's read of tickets."""
    filters = {key: str(query[key]) for key in LIST_FILTERS if query.get(key)}
    own_subject = v.resident if not v.everything else None
    rows = TicketReads(reader).list_page(filters, query["limit"] + 1, own_subject, query.get("cursor"))
    return page(rows, query["limit"], lambda row: row.id, lambda rows: _shown(v, [_listed(row) for row in rows]))


def _listed(row: Any) -> dict[str, Any]:
    named = sorted(row.named_volunteers or (), key=lambda n: n["volunteer_id"])  # as volunteers_of orders them
    return _view(row, [{"volunteer_id": n["volunteer_id"], "minutes": n["minutes"]} for n in named])


def history(session: Session, v: Visibility, ticket_id: Any) -> list[dict[str, Any]]:
    ticket = ticket_row(session, ticket_id)
    _check_visible(session, v, ticket)
    rows = TicketStore(session).transitions(ticket.id)
    return [
        {
            "action": r.action,
            "from_state": r.from_state,
            "to_state": r.to_state,
            "actor": r.actor,
            "actor_role": r.actor_role,
            "note": r.note,
            "at": aware(r.at),
        }
        for r in rows
    ]


# -- opening ------------------------------------------------------------------------
def open_ticket(
    uow: UnitOfWork, pii: PersonalData, caller: Identity, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Record a resident's need. The community (and the grid in it) was checked with the
    registry by the caller."""
    session = uow.session
    now = now or utcnow()
    category = category_by_code(session, data["category_code"])
    if caller.role not in (*OPENERS, "service"):
        raise Forbidden(f"the role {caller.role} may not open tickets", {"role": [caller.role]})
    resident_id = data.get("resident_id")
    if caller.role == "resident":
        if resident_id not in (None, caller.subject):
            raise Forbidden("a resident opens tickets for themselves", {"resident_id": ["must be your own"]})
        if data["channel"] != "resident_online":
            raise InvalidInput("a resident's own ticket comes in online", {"channel": ["must be resident_online"]})
        resident_id = caller.subject
    # Stored and published in UTC: SQLite drops the offset of a +08:00 time given by a client.
    reported_at = (data.get("reported_at") or now).astimezone(timezone.utc)
    if reported_at > now + CLOCK_SKEW:
        raise InvalidInput("reported_at is in the future", {"reported_at": ["cannot be in the future"]})
    if reported_at < now - MAX_REPORT_AGE:
        raise InvalidInput("reported_at is too old", {"reported_at": [f"at most {MAX_REPORT_AGE.days} days ago"]})
    attributes = check_attributes(category, data.get("attributes") or {})
    backdated = reported_at < now - CLOCK_SKEW
    phone = data.get("resident_phone")
    ticket = Ticket(
        community_id=str(data["community_id"]),
        grid_id=str(data["grid_id"]) if data.get("grid_id") else None,
        category_id=category.id,
        category_code=category.code,
        state="opened",
        channel=data["channel"],
        recorded_by=caller.subject,
        resident_id=resident_id,
        resident_name=data["resident_name"],
        resident_phone_masked=mask_phone(phone) if phone else None,
        resident_phone_encrypted=pii.encrypt(phone) if phone else None,
        address=data.get("address"),
        description=data["description"],
        attributes=attributes,
        beneficiary_groups=sorted(set(data.get("beneficiary_groups") or [])),
        needs_social_worker=category.needs_social_worker,
        reported_at=reported_at,
        assign_due_at=reported_at + timedelta(minutes=category.assign_minutes),
        resolve_due_at=reported_at + timedelta(minutes=category.resolve_minutes),
        created_at=now,
        updated_at=now,
    )
    store = TicketStore(session)
    store.add_ticket(ticket)
    store.add_transition(
        Transition(
            ticket_id=ticket.id,
            action="open",
            from_state=None,
            to_state="opened",
            actor=caller.subject,
            actor_role=caller.role,
            note=None,
            at=now,
        )
    )
    if backdated:  # an audit row of its own: who dated a need in the past, and by how much
        uow.note(
            "ticket.backdated", {"ticket_id": ticket.id, "minutes_back": int((now - reported_at).total_seconds() // 60)}
        )
    uow.emit(
        "ticket.opened",
        {
            **_ref(ticket),
            "channel": ticket.channel,
            "grid_id": ticket.grid_id,
            "needs_social_worker": ticket.needs_social_worker,
            "assign_due_at": ticket.assign_due_at,
            "resolve_due_at": ticket.resolve_due_at,
        },
    )
    return ticket_view(session, ticket)
