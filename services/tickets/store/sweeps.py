"""What the timers claim and count. Every replica runs the timers; rows are claimed with
``SELECT … FOR UPDATE SKIP LOCKED`` so each ticket is acted on by one replica only (the
caller clears the claimed condition in the same transaction, so it is acted on once)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.tickets.models import Category, Ticket


class SweepStore:
    """The timers' reads and claims within one session (it never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim_overdue(
        self,
        now: datetime,
        batch: int,
        unassigned: Sequence[str],
        open_states: Sequence[str],
        escalatable: Sequence[str],
    ) -> Sequence[Ticket]:
        """Up to ``batch`` tickets, oldest report first, with a deadline newly missed (to
        assign while in ``unassigned``; to resolve while in ``open_states`` short of
        resolved) or of a dispute category not yet escalated (in ``escalatable``). Their
        rows are locked until the transaction ends; rows another transaction holds are
        skipped (``FOR UPDATE SKIP LOCKED``)."""
        assign_late = and_(
            Ticket.assign_breached.is_(False),
            Ticket.assigned_at.is_(None),
            Ticket.state.in_(unassigned),
            Ticket.assign_due_at < now,
        )
        resolve_late = and_(
            Ticket.resolve_breached.is_(False),
            Ticket.state.in_(open_states),
            Ticket.state != "resolved",
            Ticket.resolve_due_at < now,
        )
        dispute = and_(
            Ticket.escalated_at.is_(None),
            Ticket.state.in_(escalatable),
            Ticket.category_id.in_(select(Category.id).where(Category.dispute.is_(True))),
        )
        return self.session.scalars(
            select(Ticket)
            .where(or_(assign_late, resolve_late, dispute))
            .order_by(Ticket.reported_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()

    def dispute_category_ids(self) -> set[str]:
        """The ids of the dispute categories. Locks nothing."""
        return set(self.session.scalars(select(Category.id).where(Category.dispute.is_(True))))

    def claim_unconfirmed(self, resolved_by: datetime, batch: int) -> Sequence[Ticket]:
        """Up to ``batch`` resolved tickets resolved at or before ``resolved_by``, oldest
        first. Their rows are locked until the transaction ends; rows another transaction
        holds are skipped (``FOR UPDATE SKIP LOCKED``)."""
        return self.session.scalars(
            select(Ticket)
            .where(Ticket.state == "resolved", Ticket.resolved_at <= resolved_by)
            .order_by(Ticket.resolved_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()

    def category_codes(self) -> list[str]:
        """Every category's code (active or retired). Locks nothing."""
        return list(self.session.scalars(select(Category.code)))

    def counts_by_state(self, closed: Sequence[str]) -> list[tuple[str, str, int]]:
        """(state, category code, tickets) for the tickets not in ``closed`` states, the
        pairs that have any. Locks nothing."""
        rows = self.session.execute(
            select(Ticket.state, Ticket.category_code, func.count())
            .where(Ticket.state.not_in(closed))
            .group_by(Ticket.state, Ticket.category_code)
        )
        return [(state, code, count) for state, code, count in rows]
