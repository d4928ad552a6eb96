"""The mediation cases' SQL, and what the reports beside them read (disputes by street and
month, tickets by beneficiary group): a case's row (locked for every change to it), its
parties and sessions, and the reports' rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.tickets.models import MediationCase, MediationParty, MediationSession, Ticket
from yilin.errors import NotFound


class MediationStore:
    """Mediation cases' reads and writes within one session (it never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- one case -------------------------------------------------------------------------
    def case(self, case_id: Any, lock: bool = False) -> MediationCase:
        """The case, or :class:`NotFound` naming ``case_id``; with ``lock`` its row is
        locked (``FOR UPDATE``) until the transaction ends."""
        row = self.session.get(MediationCase, str(case_id), with_for_update=lock or None)
        if row is None:
            raise NotFound(f"mediation case {case_id} does not exist", {"case_id": ["not found"]})
        return row

    def parties(self, case_id: str) -> list[MediationParty]:
        """The case's parties by number. Locks nothing beyond the case the caller holds."""
        return list(
            self.session.scalars(
                select(MediationParty).where(MediationParty.case_id == case_id).order_by(MediationParty.number)
            )
        )

    def sessions(self, case_id: str) -> list[MediationSession]:
        """The case's sessions, earliest first. Locks nothing."""
        return list(
            self.session.scalars(
                select(MediationSession).where(MediationSession.case_id == case_id).order_by(MediationSession.held_at)
            )
        )

    def add_case(self, row: MediationCase) -> MediationCase:
        """Insert a new case, flushed so it has its id."""
        self.session.add(row)
        self.session.flush()
        return row

    def add(self, row: MediationParty | MediationSession) -> None:
        """Add a party or a session to a case (written at the next flush)."""
        self.session.add(row)

    def flush(self) -> None:
        """Write pending changes (inside the transaction)."""
        self.session.flush()

    # -- many cases ---------------------------------------------------------------------------
    def cases(self, filters: dict[str, str], limit: int = 200) -> list[MediationCase]:
        """Up to ``limit`` cases matching ``filters`` (column → value), earliest opened
        first. Locks nothing."""
        stmt = select(MediationCase)
        for key, value in filters.items():
            stmt = stmt.where(getattr(MediationCase, key) == value)
        return list(self.session.scalars(stmt.order_by(MediationCase.opened_at).limit(limit)))

    def closed_cases(
        self, street_id: str | None, low: datetime | None, high: datetime | None
    ) -> Sequence[MediationCase]:
        """The cases (of the street, when given) closed in [low, high). Locks nothing."""
        stmt = select(MediationCase).where(MediationCase.state == "closed")
        if street_id:
            stmt = stmt.where(MediationCase.street_id == street_id)
        if low:
            stmt = stmt.where(MediationCase.closed_at >= low)
        if high:
            stmt = stmt.where(MediationCase.closed_at < high)
        return self.session.scalars(stmt).all()

    def closed_ids(self, low: datetime | None, high: datetime | None) -> list[str]:
        """The ids of the cases closed in [low, high). Locks nothing."""
        stmt = select(MediationCase.id).where(MediationCase.state == "closed")
        if low:
            stmt = stmt.where(MediationCase.closed_at >= low)
        if high:
            stmt = stmt.where(MediationCase.closed_at < high)
        return list(self.session.scalars(stmt))

    def parties_of(self, case_ids: Sequence[str]) -> list[MediationParty]:
        """The parties of these cases (one query for the lot). Locks nothing."""
        return list(self.session.scalars(select(MediationParty).where(MediationParty.case_id.in_(case_ids))))

    # -- tickets, for the reports beside the cases ---------------------------------------------
    def ticket_groups(self, community_id: str | None, low: datetime | None, high: datetime | None) -> list[Any]:
        """(id, state, resident_id, reported_at, beneficiary_groups) of the tickets not
        cancelled (of the community, when given) reported in [low, high). Locks nothing."""
        stmt = select(Ticket.id, Ticket.state, Ticket.resident_id, Ticket.reported_at, Ticket.beneficiary_groups).where(
            Ticket.state != "cancelled"
        )
        if community_id:
            stmt = stmt.where(Ticket.community_id == community_id)
        if low:
            stmt = stmt.where(Ticket.reported_at >= low)
        if high:
            stmt = stmt.where(Ticket.reported_at < high)
        return list(self.session.execute(stmt))

    def tickets_resolved(self, low: datetime | None, high: datetime | None) -> int:
        """How many tickets were resolved in [low, high). Locks nothing."""
        stmt = select(func.count()).select_from(Ticket).where(Ticket.resolved_at.is_not(None))
        if low:
            stmt = stmt.where(Ticket.resolved_at >= low)
        if high:
            stmt = stmt.where(Ticket.resolved_at < high)
        return int(self.session.scalar(stmt) or 0)
