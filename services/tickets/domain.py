"""Tickets: opening, dispatch and every lifecycle transition, as plain functions over a
unit of work. Inputs arrive validated by :mod:`services.tickets.schemas`; the legal
transitions come from :mod:`services.tickets.lifecycle`."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, Iterable, Sequence

from sqlalchemy import Select, bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from services.tickets.catalogue import category_by_code, check_attributes
from services.tickets.lifecycle import ACTORS, EVENT_OF_ACTION, allowed_actions, next_state
from services.tickets.models import Ticket, TicketVolunteer, Transition, utcnow
from services.tickets.visibility import Visibility, reduce_resident, sees
from yilin.db import UnitOfWork
from yilin.errors import Conflict, Forbidden, InvalidInput, NotFound
from yilin.identity import Identity
from yilin.paging import page
from yilin.pii import PersonalData, mask_phone

# Back-dating is bounded (a need recorded later than this is a new need) and audited:
# SLA deadlines, and so the minutes a volunteer may claim, count from reported_at.
MAX_REPORT_AGE = timedelta(days=2)
CLOCK_SKEW = timedelta(minutes=5)
LOAD_STATES = ("assigned", "in_progress", "reopened")


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


# -- views --------------------------------------------------------------------------
def ticket_views(session: Session, tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    """Views of many tickets with one query for their volunteers."""
    volunteers: dict[str, list[dict[str, Any]]] = {t.id: [] for t in tickets}
    if tickets:
        rows = session.scalars(_TICKET_VOLUNTEERS, {"ids": list(volunteers)})
        for row in rows:
            volunteers[row.ticket_id].append({"volunteer_id": row.volunteer_id, "minutes": row.minutes})
    return [{
        "id": t.id, "community_id": t.community_id, "category_code": t.category_code, "state": t.state,
        "allowed_actions": allowed_actions(t.state), "channel": t.channel, "recorded_by": t.recorded_by,
        "resident": {"id": t.resident_id, "name": t.resident_name, "phone": t.resident_phone_masked,
                     "address": t.address},
        "description": t.description, "attributes": dict(t.attributes or {}),
        "needs_social_worker": t.needs_social_worker, "team_id": t.team_id, "volunteers": volunteers[t.id],
        "reported_at": aware(t.reported_at), "assign_due_at": aware(t.assign_due_at),
        "resolve_due_at": aware(t.resolve_due_at), "assigned_at": aware(t.assigned_at),
        "started_at": aware(t.started_at), "resolved_at": aware(t.resolved_at), "closed_at": aware(t.closed_at),
        "escalated_at": aware(t.escalated_at), "escalation_reason": t.escalation_reason, "rating": t.rating,
        "comment": t.comment, "auto_confirmed": t.auto_confirmed, "created_at": aware(t.created_at),
    } for t in tickets]


_TICKET_VOLUNTEERS = (select(TicketVolunteer).where(TicketVolunteer.ticket_id.in_(bindparam("ids", expanding=True)))
                      .order_by(TicketVolunteer.volunteer_id))  # built once, as the list statements


def ticket_view(session: Session, ticket: Ticket) -> dict[str, Any]:
    return ticket_views(session, [ticket])[0]


def _ref(ticket: Ticket) -> dict[str, Any]:
    """The identifying part of every ticket event: ids and codes, no personal data."""
    return {"ticket_id": ticket.id, "community_id": ticket.community_id, "category_code": ticket.category_code}


# -- access -------------------------------------------------------------------------
def _ticket(session: Session, ticket_id: Any, lock: bool = False) -> Ticket:
    ticket = session.get(Ticket, str(ticket_id), with_for_update=lock or None)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist", {"ticket_id": ["not found"]})
    return ticket


def _check_owner(caller: Identity, ticket: Ticket) -> None:
    if caller.role == "resident" and ticket.resident_id != caller.subject:
        raise Forbidden("this ticket belongs to another resident", {"ticket_id": ["not your ticket"]})


def _assigned_ids(session: Session, ticket: Ticket) -> list[str]:
    return list(session.scalars(select(TicketVolunteer.volunteer_id).where(TicketVolunteer.ticket_id == ticket.id)
                                .order_by(TicketVolunteer.volunteer_id)))


def _authorise(session: Session, caller: Identity, ticket: Ticket, action: str) -> None:
    if caller.role not in ACTORS[action]:
        raise Forbidden(f"the role {caller.role} may not {action} a ticket", {"role": [caller.role]})
    _check_owner(caller, ticket)
    # A volunteer works only on tickets they are named on.
    if caller.role == "volunteer" and action in ("start", "resolve") and caller.subject not in _assigned_ids(session, ticket):
        raise Forbidden("you are not named on this ticket", {"ticket_id": ["not assigned to you"]})


def apply_transition(uow: UnitOfWork, caller: Identity, ticket: Ticket, action: str, note: str | None,
          event: dict[str, Any] | None, now: datetime) -> None:
    """Apply ``action`` (already checked legal), record it in the history and emit its event."""
    target = next_state(ticket.state, action)
    uow.session.add(Transition(ticket_id=ticket.id, action=action, from_state=ticket.state, to_state=target,
                               actor=caller.subject, actor_role=caller.role, note=note, at=now))
    ticket.state = target
    ticket.updated_at = now
    uow.emit(EVENT_OF_ACTION[action], {**_ref(ticket), **(event or {})})


def _begin(uow: UnitOfWork, caller: Identity, ticket_id: Any, action: str) -> Ticket:
    """Lock the ticket, authorise the caller, check the transition: all before any write."""
    ticket = _ticket(uow.session, ticket_id, lock=True)
    _authorise(uow.session, caller, ticket, action)
    next_state(ticket.state, action)
    return ticket


def _check_visible(session: Session, v: Visibility, ticket: Ticket) -> None:
    if not sees(v, ticket, set(_assigned_ids(session, ticket))):
        raise Forbidden("this ticket is not yours to see", {"ticket_id": ["not yours to see"]})


def _shown(v: Visibility, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [reduce_resident(view) for view in views] if v.reduced else views


def get_ticket(session: Session, v: Visibility, ticket_id: Any) -> dict[str, Any]:
    ticket = _ticket(session, ticket_id)
    _check_visible(session, v, ticket)
    return _shown(v, [ticket_view(session, ticket)])[0]


LIST_FILTERS = ("state", "category_code", "resident_id", "community_id", "team_id")


def list_tickets(session: Session, v: Visibility, query: dict[str, Any]) -> dict[str, Any]:
    filters = tuple(key for key in LIST_FILTERS if query.get(key))
    own_only = v.resident is not None and not v.everything  # residents see their own tickets only
    cursor = query.get("cursor")
    params: dict[str, Any] = {key: str(query[key]) for key in filters}
    params["limit"] = query["limit"] + 1
    if own_only:
        params["own_subject"] = v.resident
    if cursor:
        params["cursor"] = cursor
    stmt = _list_statement(filters, own_only, bool(cursor))
    if not v.everything and not own_only:
        reach = [Ticket.community_id.in_(v.communities), Ticket.team_id.in_(v.teams)]
        if v.volunteer is not None:
            reach.append(Ticket.id.in_(select(TicketVolunteer.ticket_id)
                                       .where(TicketVolunteer.volunteer_id == v.volunteer)))
        stmt = stmt.where(or_(*reach))
    rows = session.scalars(stmt, params).all()
    return page(rows, query["limit"], lambda ticket: ticket.id,
                lambda tickets: _shown(v, ticket_views(session, tickets)))


@cache
def _list_statement(filters: tuple[str, ...], own_only: bool, after_cursor: bool) -> Select[Any]:
    """The list page's statement for one combination of filters, built once: building
    it (and its cache key) costs several times running it."""
    stmt = select(Ticket)
    if own_only:
        stmt = stmt.where(Ticket.resident_id == bindparam("own_subject"))
    for key in filters:
        stmt = stmt.where(getattr(Ticket, key) == bindparam(key))
    if after_cursor:
        stmt = stmt.where(Ticket.id > bindparam("cursor"))
    return stmt.order_by(Ticket.id).limit(bindparam("limit"))


def history(session: Session, v: Visibility, ticket_id: Any) -> list[dict[str, Any]]:
    ticket = _ticket(session, ticket_id)
    _check_visible(session, v, ticket)
    rows = session.scalars(select(Transition).where(Transition.ticket_id == ticket.id)
                           .order_by(Transition.at, Transition.id))
    return [{"action": r.action, "from_state": r.from_state, "to_state": r.to_state, "actor": r.actor,
             "actor_role": r.actor_role, "note": r.note, "at": aware(r.at)} for r in rows]


# -- opening ------------------------------------------------------------------------
def open_ticket(uow: UnitOfWork, pii: PersonalData, caller: Identity, data: dict[str, Any],
                now: datetime | None = None) -> dict[str, Any]:
    """Record a resident's need. The community was checked with the registry by the caller."""
    session = uow.session
    now = now or utcnow()
    category = category_by_code(session, data["category_code"])
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
        community_id=str(data["community_id"]), category_id=category.id, category_code=category.code,
        state="opened", channel=data["channel"], recorded_by=caller.subject, resident_id=resident_id,
        resident_name=data["resident_name"], resident_phone_masked=mask_phone(phone) if phone else None,
        resident_phone_encrypted=pii.encrypt(phone) if phone else None, address=data.get("address"),
        description=data["description"], attributes=attributes, needs_social_worker=category.needs_social_worker,
        reported_at=reported_at, assign_due_at=reported_at + timedelta(minutes=category.assign_minutes),
        resolve_due_at=reported_at + timedelta(minutes=category.resolve_minutes), created_at=now, updated_at=now,
    )
    session.add(ticket)
    session.flush()
    session.add(Transition(ticket_id=ticket.id, action="open", from_state=None, to_state="opened",
                           actor=caller.subject, actor_role=caller.role, note=None, at=now))
    if backdated:  # an audit row of its own: who dated a need in the past, and by how much
        uow.note("ticket.backdated", {"ticket_id": ticket.id,
                                      "minutes_back": int((now - reported_at).total_seconds() // 60)})
    uow.emit("ticket.opened", {**_ref(ticket), "channel": ticket.channel,
                               "needs_social_worker": ticket.needs_social_worker,
                               "assign_due_at": ticket.assign_due_at, "resolve_due_at": ticket.resolve_due_at})
    return ticket_view(session, ticket)


# -- dispatch -----------------------------------------------------------------------
def dispatch_target(session: Session, caller: Identity, ticket_id: Any) -> dict[str, Any]:
    """What dispatch needs to ask the registry: the ticket's community, skill and whether
    only professional teams may take it."""
    ticket = _ticket(session, ticket_id)
    if caller.role not in ACTORS["assign"]:
        raise Forbidden(f"the role {caller.role} may not dispatch tickets", {"role": [caller.role]})
    skill = category_by_code(session, ticket.category_code).skill
    return {"community_id": ticket.community_id, "skill": skill, "professional_only": ticket.needs_social_worker}


def team_loads(session: Session, team_ids: Iterable[str]) -> dict[str, int]:
    """Open tickets per team."""
    ids = list(team_ids)
    if not ids:
        return {}
    rows = session.execute(select(Ticket.team_id, func.count()).where(Ticket.team_id.in_(ids),
                                                                     Ticket.state.in_(LOAD_STATES))
                           .group_by(Ticket.team_id))
    return {team_id: count for team_id, count in rows}


def rank_teams(teams: list[dict[str, Any]], loads: dict[str, int], professional_only: bool) -> list[dict[str, Any]]:
    """Teams able to take the ticket, least loaded first."""
    eligible = [t for t in teams if t.get("professional") or not professional_only]
    ranked = [{"team_id": t["id"], "code": t["code"], "name": t["name"], "professional": bool(t.get("professional")),
               "member_count": int(t.get("member_count") or 0), "open_tickets": loads.get(t["id"], 0)}
              for t in eligible]
    return sorted(ranked, key=lambda t: (t["open_tickets"], -t["member_count"], t["code"]))


def assign(uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any], team: dict[str, Any],
           members: list[dict[str, Any]], now: datetime | None = None) -> dict[str, Any]:
    """Give the ticket to ``team`` (as the registry describes it) and named volunteers."""
    now = now or utcnow()
    session = uow.session
    ticket = _begin(uow, caller, ticket_id, "assign")
    if ticket.needs_social_worker and not team.get("professional"):
        raise InvalidInput("this ticket needs a professional social-work team",
                           {"team_id": ["is not a professional team"]})
    status = {m["volunteer_id"]: m["status"] for m in members}
    wanted = [str(v) for v in data["volunteer_ids"]]
    strangers = [v for v in wanted if v not in status]
    if strangers:
        raise InvalidInput("every volunteer must be a member of the team",
                           {"volunteer_ids": [f"{v} is not a member of team {team['code']}" for v in strangers]})
    inactive = [v for v in wanted if status[v] != "active"]
    if inactive:
        raise Conflict("a suspended or departed volunteer cannot be assigned",
                       {"volunteer_ids": [f"{v} is {status[v]}" for v in inactive]})
    session.execute(delete(TicketVolunteer).where(TicketVolunteer.ticket_id == ticket.id))
    session.execute(insert(TicketVolunteer), [{"ticket_id": ticket.id, "volunteer_id": v, "minutes": None}
                                              for v in sorted(wanted)])
    ticket.team_id = team["id"]
    ticket.assigned_at = ticket.assigned_at or now
    apply_transition(uow, caller, ticket, "assign", data.get("note"), {"team_id": team["id"], "volunteer_ids": sorted(wanted)}, now)
    return ticket_view(session, ticket)


# -- work ---------------------------------------------------------------------------
def start(uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any],
          now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    ticket = _begin(uow, caller, ticket_id, "start")
    ticket.started_at = ticket.started_at or now
    apply_transition(uow, caller, ticket, "start", data.get("note"), None, now)
    return ticket_view(uow.session, ticket)


def open_minutes(ticket: Ticket, now: datetime) -> int:
    """Whole minutes (rounded up) since the resident raised the need."""
    return max(0, math.ceil((now - aware(ticket.reported_at)).total_seconds() / 60))


def resolve(uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any],
            now: datetime | None = None) -> dict[str, Any]:
    """Record the minutes each named volunteer served (travel excluded) and resolve."""
    now = now or utcnow()
    session = uow.session
    ticket = _begin(uow, caller, ticket_id, "resolve")
    assigned = set(_assigned_ids(session, ticket))
    served = {str(v["volunteer_id"]): v["minutes"] for v in data["volunteers"]}
    unknown = sorted(set(served) - assigned)
    if unknown:
        raise InvalidInput("minutes can be recorded only for volunteers named on the ticket",
                           {"volunteers": [f"{v} is not assigned to this ticket" for v in unknown]})
    category = category_by_code(session, ticket.category_code)
    over = sorted(v for v, m in served.items() if m > category.max_credit_minutes)
    if over:
        raise InvalidInput(f"a {category.code} ticket credits at most {category.max_credit_minutes} minutes "
                           "per volunteer", {"minutes": [f"{v}: {served[v]} > {category.max_credit_minutes}"
                                                         for v in over]})
    limit = open_minutes(ticket, now)
    too_long = sorted(v for v, m in served.items() if m > limit)
    if too_long:
        raise InvalidInput(f"minutes cannot exceed the {limit} minutes the ticket has been open",
                           {"minutes": [f"{v}: {served[v]} > {limit}" for v in too_long]})
    for row in session.scalars(select(TicketVolunteer).where(TicketVolunteer.ticket_id == ticket.id)):
        row.minutes = served.get(row.volunteer_id)
    ticket.resolved_at = now
    apply_transition(uow, caller, ticket, "resolve", data.get("note"), {
        "team_id": ticket.team_id, "resolved_at": now,
        "volunteers": [{"volunteer_id": v, "minutes": served[v]} for v in sorted(served)]}, now)
    return ticket_view(session, ticket)


# -- the resident's word ------------------------------------------------------------
def confirm(uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any],
            now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    ticket = _begin(uow, caller, ticket_id, "confirm")
    ticket.rating = data["rating"]
    ticket.comment = data.get("comment")
    ticket.closed_at = now
    apply_transition(uow, caller, ticket, "confirm", data.get("comment"), {"rating": data["rating"], "automatic": False}, now)
    return ticket_view(uow.session, ticket)


def reopen(uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any], window_days: float,
           now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    ticket = _begin(uow, caller, ticket_id, "reopen")
    if now - aware(ticket.resolved_at) > timedelta(days=window_days):
        raise Conflict(f"a ticket can be reopened within {window_days:g} days of its resolution",
                       {"resolved_at": [f"more than {window_days:g} days ago"]})
    ticket.resolved_at = None
    apply_transition(uow, caller, ticket, "reopen", data.get("note"), None, now)
    return ticket_view(uow.session, ticket)


def escalate(uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any],
             now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    ticket = _begin(uow, caller, ticket_id, "escalate")
    mark_escalated(ticket, "manual", now)
    apply_transition(uow, caller, ticket, "escalate", data.get("note"), {"reason": "manual"}, now)
    return ticket_view(uow.session, ticket)


def mark_escalated(ticket: Ticket, reason: str, now: datetime) -> None:
    """From now on only a professional social-work team may take the ticket."""
    ticket.escalated_at = ticket.escalated_at or now
    ticket.escalation_reason = ticket.escalation_reason or reason
    ticket.needs_social_worker = True


def cancel(uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any],
           now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    ticket = _begin(uow, caller, ticket_id, "cancel")
    ticket.closed_at = now
    apply_transition(uow, caller, ticket, "cancel", data.get("note"), None, now)
    return ticket_view(uow.session, ticket)
