"""The timers' work: deadlines, escalation to a social worker, automatic confirmation
and the open-ticket counts. Every replica runs the timers; rows are claimed with
``SELECT … FOR UPDATE SKIP LOCKED`` so each ticket is acted on by one replica only, and
the claimed condition is cleared in the same transaction so it is acted on once (the
claims are :class:`~services.tickets.store.sweeps.SweepStore`'s)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.tickets.domain import apply_transition
from services.tickets.models import utcnow
from services.tickets.rules import CLOSED, OPEN, TRANSITIONS, aware
from services.tickets.store.sweeps import SweepStore
from services.tickets.work import mark_escalated
from yilin.db import UnitOfWork
from yilin.identity import service_account

SLA_ACCOUNT = service_account("tickets")  # the timers act as the tickets service, by name

ESCALATABLE = tuple(s for s in OPEN if "escalate" in TRANSITIONS[s])
UNASSIGNED = ("opened", "escalated")


def sweep_deadlines(uow: UnitOfWork, now: datetime | None = None, batch: int = 200) -> list[dict[str, Any]]:
    """Mark missed deadlines and escalate overdue and dispute tickets (once each).

    Returns what happened per ticket (``category``, ``breaches``, ``escalated``) so the
    caller can count it after the commit."""
    now = now or utcnow()
    store = SweepStore(uow.session)
    tickets = store.claim_overdue(now, batch, UNASSIGNED, OPEN, ESCALATABLE)
    disputes = store.dispute_category_ids()
    outcomes = []
    for ticket in tickets:
        breaches = []
        if (
            not ticket.assign_breached
            and ticket.assigned_at is None
            and ticket.state in UNASSIGNED
            and aware(ticket.assign_due_at) < now
        ):
            ticket.assign_breached = True
            breaches.append("assign")
        if (
            not ticket.resolve_breached
            and ticket.state in OPEN
            and ticket.state != "resolved"
            and aware(ticket.resolve_due_at) < now
        ):
            ticket.resolve_breached = True
            breaches.append("resolve")
        reason = None
        if ticket.escalated_at is None and ticket.state in ESCALATABLE:
            if ticket.category_id in disputes:
                reason = "dispute"
            elif breaches or ticket.assign_breached or ticket.resolve_breached:
                reason = "overdue_assign" if ticket.assigned_at is None else "overdue_resolve"
        if reason:
            mark_escalated(ticket, reason, now)
            apply_transition(uow, SLA_ACCOUNT, ticket, "escalate", f"automatic: {reason}", {"reason": reason}, now)
        ticket.updated_at = now
        outcomes.append(
            {"ticket_id": ticket.id, "category": ticket.category_code, "breaches": breaches, "escalated": reason}
        )
    return outcomes


def auto_confirm(uow: UnitOfWork, days: float, now: datetime | None = None, batch: int = 200) -> list[str]:
    """Confirm, without a rating, resolved tickets the resident left unconfirmed for ``days``."""
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    tickets = SweepStore(uow.session).claim_unconfirmed(cutoff, batch)
    for ticket in tickets:
        ticket.auto_confirmed = True
        ticket.closed_at = now
        apply_transition(
            uow,
            SLA_ACCOUNT,
            ticket,
            "confirm",
            f"automatic: not confirmed within {days:g} days",
            {"rating": None, "automatic": True},
            now,
        )
    return [t.id for t in tickets]


def open_counts(session: Session) -> dict[tuple[str, str], int]:
    """Tickets not yet closed per (state, category code), every pair present (zeros too)
    so a gauge drops back to 0 when the last ticket leaves a state."""
    store = SweepStore(session)
    counts = {(state, code): 0 for code in store.category_codes() for state in OPEN}
    for state, code, count in store.counts_by_state(CLOSED):
        counts[(state, code)] = count
    return counts
