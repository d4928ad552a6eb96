"""What dispatch and escalation read from the tickets' own records: each team's or
partner's SLA history, and escalated tickets still waiting for a named social worker."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from services.tickets.dispatch import SlaRecord
from services.tickets.models import Ticket
from services.tickets.work import name_social_worker
from yilin.db import UnitOfWork

FINISHED = ("resolved", "confirmed")


def sla_records(session: Session, holder_ids: Iterable[str]) -> dict[str, SlaRecord]:
    """Per team or partner id: its finished tickets and how many missed a deadline."""
    ids = list(holder_ids)
    if not ids:
        return {}
    late = or_(
        Ticket.assign_breached.is_(True),
        Ticket.resolve_breached.is_(True),
        and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at > Ticket.resolve_due_at),
    )
    records: dict[str, SlaRecord] = {}
    for column in (Ticket.team_id, Ticket.partner_id):
        rows = session.execute(
            select(column, func.count(), func.sum(case((late, 1), else_=0)))
            .where(column.in_(ids), Ticket.state.in_(FINISHED))
            .group_by(column)
        )
        records.update({holder: SlaRecord(int(total), int(breached or 0)) for holder, total, breached in rows})
    return records


def awaiting_social_worker(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Escalated tickets (still open) that no certified social worker has been named for."""
    rows = session.execute(
        select(Ticket.id, Ticket.community_id)
        .where(
            Ticket.escalated_at.is_not(None),
            Ticket.social_worker_id.is_(None),
            Ticket.state.not_in(("confirmed", "cancelled")),
        )
        .order_by(Ticket.escalated_at)
        .limit(limit)
    )
    return [{"ticket_id": ticket_id, "community_id": community_id} for ticket_id, community_id in rows]


def record_social_worker(uow: UnitOfWork, ticket_id: str, social_worker: dict[str, Any]) -> None:
    """Name the social worker on a ticket escalated by the timer (if still unnamed)."""
    ticket = uow.session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is not None:
        name_social_worker(ticket, social_worker)
        uow.note("ticket.social_worker_named", {"ticket_id": ticket.id, "volunteer_id": ticket.social_worker_id})
