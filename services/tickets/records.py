"""What dispatch and escalation read from the tickets' own records: each team's or
partner's SLA history, and escalated tickets still waiting for a named social worker."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.orm import Session

from services.tickets.dispatch import SlaRecord
from services.tickets.store.tickets import TicketStore
from services.tickets.work import name_social_worker
from yilin.db import UnitOfWork

FINISHED = ("resolved", "confirmed")


def sla_records(session: Session, holder_ids: Iterable[str]) -> dict[str, SlaRecord]:
    """Per team or partner id: its finished tickets and how many missed a deadline."""
    ids = list(holder_ids)
    if not ids:
        return {}
    counts = TicketStore(session).sla_counts(ids, FINISHED)
    return {holder: SlaRecord(total, breached) for holder, (total, breached) in counts.items()}


def awaiting_social_worker(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Escalated tickets (still open) that no certified social worker has been named for."""
    rows = TicketStore(session).awaiting_social_worker(limit)
    return [{"ticket_id": ticket_id, "community_id": community_id} for ticket_id, community_id in rows]


def record_social_worker(uow: UnitOfWork, ticket_id: str, social_worker: dict[str, Any]) -> None:
    """Name the social worker on a ticket escalated by the timer (if still unnamed)."""
    ticket = TicketStore(uow.session).lock_if_present(ticket_id)
    if ticket is not None:
        name_social_worker(ticket, social_worker)
        uow.note("ticket.social_worker_named", {"ticket_id": ticket.id, "volunteer_id": ticket.social_worker_id})
