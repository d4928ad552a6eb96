"""Work on a ticket after it is opened: dispatch to a team, start, resolve, the
resident's confirmation or reopening, escalation and cancellation. Each locks the ticket,
authorises the caller and checks the transition before any write (``domain.begin``)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy.orm import Session

from services.tickets.catalogue import category_by_code
from services.tickets.domain import apply_transition, assigned_ids, begin, ticket_row, ticket_view
from services.tickets.models import Ticket, utcnow
from services.tickets.permissions import ACTORS
from services.tickets.rules import aware
from services.tickets.store.tickets import TicketStore
from yilin.db import UnitOfWork
from yilin.errors import Conflict, Forbidden, InvalidInput
from yilin.identity import Identity

LOAD_STATES = ("assigned", "in_progress", "reopened")  # states that count towards a team's load


# -- dispatch -----------------------------------------------------------------------
def dispatch_target(session: Session, caller: Identity, ticket_id: Any) -> dict[str, Any]:
    """What dispatch needs to ask the registry: the ticket's community, skill and whether
    only professional teams may take it."""
    ticket = ticket_row(session, ticket_id)
    if caller.role not in ACTORS["assign"]:
        raise Forbidden(f"the role {caller.role} may not dispatch tickets", {"role": [caller.role]})
    skill = category_by_code(session, ticket.category_code).skill
    return {"community_id": ticket.community_id, "skill": skill, "professional_only": ticket.needs_social_worker}


def team_loads(session: Session, team_ids: Iterable[str]) -> dict[str, int]:
    """Open tickets per team or partner (ids of either)."""
    ids = list(team_ids)
    if not ids:
        return {}
    return TicketStore(session).loads(ids, LOAD_STATES)


def assign(
    uow: UnitOfWork,
    caller: Identity,
    ticket_id: Any,
    data: dict[str, Any],
    team: dict[str, Any],
    members: list[dict[str, Any]],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Give the ticket to ``team`` (as the registry describes it) and named volunteers."""
    now = now or utcnow()
    session = uow.session
    ticket = begin(uow, caller, ticket_id, "assign")
    if ticket.needs_social_worker and not team.get("professional"):
        raise InvalidInput(
            "this ticket needs a professional social-work team", {"team_id": ["is not a professional team"]}
        )
    status = {m["volunteer_id"]: m["status"] for m in members}
    wanted = [str(v) for v in data["volunteer_ids"]]
    strangers = [v for v in wanted if v not in status]
    if strangers:
        raise InvalidInput(
            "every volunteer must be a member of the team",
            {"volunteer_ids": [f"{v} is not a member of team {team['code']}" for v in strangers]},
        )
    inactive = [v for v in wanted if status[v] != "active"]
    if inactive:
        raise Conflict(
            "a suspended or departed volunteer cannot be assigned",
            {"volunteer_ids": [f"{v} is {status[v]}" for v in inactive]},
        )
    store = TicketStore(session)
    store.clear_volunteers(ticket.id)
    store.add_volunteers(ticket.id, sorted(wanted))
    ticket.team_id, ticket.partner_id = team["id"], None
    ticket.assigned_at = ticket.assigned_at or now
    apply_transition(
        uow, caller, ticket, "assign", data.get("note"), {"team_id": team["id"], "volunteer_ids": sorted(wanted)}, now
    )
    return ticket_view(session, ticket)


# -- work ---------------------------------------------------------------------------
def start(
    uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    ticket = begin(uow, caller, ticket_id, "start")
    ticket.started_at = ticket.started_at or now
    apply_transition(uow, caller, ticket, "start", data.get("note"), None, now)
    return ticket_view(uow.session, ticket)


def open_minutes(ticket: Ticket, now: datetime) -> int:
    """Whole minutes (rounded up) since the resident raised the need."""
    return max(0, math.ceil((now - aware(ticket.reported_at)).total_seconds() / 60))


def resolve(
    uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Record the minutes each named volunteer served (travel excluded) and resolve."""
    now = now or utcnow()
    session = uow.session
    ticket = begin(uow, caller, ticket_id, "resolve")
    assigned = set(assigned_ids(session, ticket))
    served = {str(v["volunteer_id"]): v["minutes"] for v in data["volunteers"]}
    if not served and not ticket.partner_id:
        raise InvalidInput("record the minutes of at least one volunteer", {"volunteers": ["at least one"]})
    unknown = sorted(set(served) - assigned)
    if unknown:
        raise InvalidInput(
            "minutes can be recorded only for volunteers named on the ticket",
            {"volunteers": [f"{v} is not assigned to this ticket" for v in unknown]},
        )
    category = category_by_code(session, ticket.category_code)
    over = sorted(v for v, m in served.items() if m > category.max_credit_minutes)
    if over:
        raise InvalidInput(
            f"a {category.code} ticket credits at most {category.max_credit_minutes} minutes per volunteer",
            {"minutes": [f"{v}: {served[v]} > {category.max_credit_minutes}" for v in over]},
        )
    limit = open_minutes(ticket, now)
    too_long = sorted(v for v, m in served.items() if m > limit)
    if too_long:
        raise InvalidInput(
            f"minutes cannot exceed the {limit} minutes the ticket has been open",
            {"minutes": [f"{v}: {served[v]} > {limit}" for v in too_long]},
        )
    for row in TicketStore(session).volunteer_rows(ticket.id):
        row.minutes = served.get(row.volunteer_id)
    ticket.resolved_at = now
    event = {"resolved_at": now, "volunteers": [{"volunteer_id": v, "minutes": served[v]} for v in sorted(served)]}
    if ticket.partner_id:  # a partner's work: its own event (its own time earns no hours)
        apply_transition(
            uow,
            caller,
            ticket,
            "resolve",
            data.get("note"),
            {**event, "partner_id": ticket.partner_id},
            now,
            "ticket.resolved_by_partner",
        )
    else:
        apply_transition(uow, caller, ticket, "resolve", data.get("note"), {**event, "team_id": ticket.team_id}, now)
    return ticket_view(session, ticket)


# -- the resident's word ------------------------------------------------------------
def confirm(
    uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    ticket = begin(uow, caller, ticket_id, "confirm")
    ticket.rating = data["rating"]
    ticket.comment = data.get("comment")
    ticket.closed_at = now
    apply_transition(
        uow, caller, ticket, "confirm", data.get("comment"), {"rating": data["rating"], "automatic": False}, now
    )
    return ticket_view(uow.session, ticket)


def reopen(
    uow: UnitOfWork,
    caller: Identity,
    ticket_id: Any,
    data: dict[str, Any],
    window_days: float,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    ticket = begin(uow, caller, ticket_id, "reopen")
    if now - aware(ticket.resolved_at) > timedelta(days=window_days):
        raise Conflict(
            f"a ticket can be reopened within {window_days:g} days of its resolution",
            {"resolved_at": [f"more than {window_days:g} days ago"]},
        )
    ticket.resolved_at = None
    apply_transition(uow, caller, ticket, "reopen", data.get("note"), None, now)
    return ticket_view(uow.session, ticket)


def escalate(
    uow: UnitOfWork,
    caller: Identity,
    ticket_id: Any,
    data: dict[str, Any],
    social_worker: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Escalate by hand, naming ``social_worker`` (the registry's pick for the community)."""
    now = now or utcnow()
    ticket = begin(uow, caller, ticket_id, "escalate")
    mark_escalated(ticket, "manual", now)
    name_social_worker(ticket, social_worker)
    apply_transition(
        uow,
        caller,
        ticket,
        "escalate",
        data.get("note"),
        {"reason": "manual", "social_worker_id": ticket.social_worker_id},
        now,
    )
    return ticket_view(uow.session, ticket)


def name_social_worker(ticket: Ticket, social_worker: dict[str, Any] | None) -> None:
    """Record the certified social worker who takes the escalated ticket (the first named stays)."""
    if social_worker and not ticket.social_worker_id:
        ticket.social_worker_id = social_worker["volunteer_id"]
        ticket.social_worker_name = social_worker["name"]


def mark_escalated(ticket: Ticket, reason: str, now: datetime) -> None:
    """From now on only a professional social-work team may take the ticket."""
    ticket.escalated_at = ticket.escalated_at or now
    ticket.escalation_reason = ticket.escalation_reason or reason
    ticket.needs_social_worker = True


def cancel(
    uow: UnitOfWork, caller: Identity, ticket_id: Any, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    ticket = begin(uow, caller, ticket_id, "cancel")
    ticket.closed_at = now
    apply_transition(uow, caller, ticket, "cancel", data.get("note"), None, now)
    return ticket_view(uow.session, ticket)
