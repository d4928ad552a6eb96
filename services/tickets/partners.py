"""Giving a ticket to a partner organisation (a social enterprise, community partner or
property manager) instead of a volunteer team. The partner's own paid work earns no
volunteer hours; volunteers named on the ticket with it earn theirs as on any ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.tickets.domain import apply_transition, begin, ticket_view
from services.tickets.models import utcnow
from services.tickets.store.tickets import TicketStore
from yilin.db import UnitOfWork
from yilin.errors import Conflict, InvalidInput
from yilin.identity import Identity


def assign_partner(
    uow: UnitOfWork,
    caller: Identity,
    ticket_id: Any,
    data: dict[str, Any],
    partner: dict[str, Any],
    statuses: dict[str, str],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Give the ticket to ``partner`` (as the registry describes it) with any named
    volunteers (``statuses``: the registry's status of each)."""
    now = now or utcnow()
    session = uow.session
    ticket = begin(uow, caller, ticket_id, "assign")
    if ticket.needs_social_worker:
        raise InvalidInput(
            "this ticket needs a professional social-work team, not a partner",
            {"partner_id": ["the ticket needs a social worker"]},
        )
    wanted = sorted(str(v) for v in data["volunteer_ids"])
    unknown = [v for v in wanted if v not in statuses]
    if unknown:
        raise InvalidInput(
            "every named volunteer must be registered",
            {"volunteer_ids": [f"{v} is not a registered volunteer" for v in unknown]},
        )
    inactive = [v for v in wanted if statuses[v] != "active"]
    if inactive:
        raise Conflict(
            "a suspended or departed volunteer cannot be assigned",
            {"volunteer_ids": [f"{v} is {statuses[v]}" for v in inactive]},
        )
    store = TicketStore(session)
    store.clear_volunteers(ticket.id)
    store.add_volunteers(ticket.id, wanted)
    ticket.team_id, ticket.partner_id = None, partner["id"]
    ticket.assigned_at = ticket.assigned_at or now
    apply_transition(
        uow,
        caller,
        ticket,
        "assign",
        data.get("note"),
        {"partner_id": partner["id"], "volunteer_ids": wanted},
        now,
        "ticket.assigned_to_partner",
    )
    return ticket_view(session, ticket)
