"""The suggestions' SQL (益邻·心声): a suggestion's row (locked for every change to it),
the residents who raised it and what it turned into, the list page, the escalation
timer's claim and the counts the reports read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from services.tickets.models import Suggestion, SuggestionLink, SuggestionResident, Ticket
from services.tickets.voice_rules import Reach
from yilin.errors import NotFound


class SuggestionStore:
    """Suggestions' reads and writes within one session (it never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- one suggestion -------------------------------------------------------------------
    def suggestion(self, suggestion_id: Any, lock: bool = False) -> Suggestion:
        """The suggestion, or :class:`NotFound` naming ``suggestion_id``; with ``lock`` its
        row is locked (``FOR UPDATE``) until the transaction ends."""
        row = self.session.get(Suggestion, str(suggestion_id), with_for_update=lock or None)
        if row is None:
            raise NotFound(f"suggestion {suggestion_id} does not exist", {"suggestion_id": ["not found"]})
        return row

    def add(self, row: Suggestion) -> Suggestion:
        """Insert a new suggestion, flushed so it has its id."""
        self.session.add(row)
        self.session.flush()
        return row

    def add_resident(self, row: SuggestionResident) -> None:
        """Add a resident who raised a suggestion (written at the next flush)."""
        self.session.add(row)

    def flush(self) -> None:
        """Write pending changes (inside the transaction)."""
        self.session.flush()

    def resident_ids(self, suggestion_id: str) -> set[str]:
        """The ids of the known residents who raised the suggestion. Locks nothing."""
        return set(
            self.session.scalars(
                select(SuggestionResident.resident_id).where(
                    SuggestionResident.suggestion_id == suggestion_id, SuggestionResident.resident_id.is_not(None)
                )
            )
        )

    def move_raisers(self, source_id: str, target_id: str) -> None:
        """Move the residents and the links of ``source_id`` to ``target_id`` (two
        updates; the caller holds both suggestions' locks)."""
        self.session.execute(
            update(SuggestionResident)
            .where(SuggestionResident.suggestion_id == source_id)
            .values(suggestion_id=target_id)
        )
        self.session.execute(
            update(SuggestionLink).where(SuggestionLink.suggestion_id == source_id).values(suggestion_id=target_id)
        )

    def resident_count(self, suggestion_id: str) -> int:
        """How many residents raised the suggestion (after any merge). Locks nothing."""
        count = self.session.scalar(
            select(func.count())
            .select_from(SuggestionResident)
            .where(SuggestionResident.suggestion_id == suggestion_id)
        )
        return int(count or 0)

    def has_link(self, suggestion_id: str, kind: str, target_id: str) -> bool:
        """Whether the suggestion is already linked to this target. Locks nothing."""
        return self.session.get(SuggestionLink, (suggestion_id, kind, target_id)) is not None

    def add_link(self, link: SuggestionLink) -> None:
        """Add what a suggestion turned into (written at the next flush)."""
        self.session.add(link)

    # -- many suggestions -------------------------------------------------------------------
    def residents_of(self, suggestion_ids: Sequence[str]) -> list[SuggestionResident]:
        """The residents who raised these suggestions, in the order they were recorded.
        Locks nothing."""
        return list(
            self.session.scalars(
                select(SuggestionResident)
                .where(SuggestionResident.suggestion_id.in_(suggestion_ids))
                .order_by(SuggestionResident.id)
            )
        )

    def links_of(self, suggestion_ids: Sequence[str]) -> list[SuggestionLink]:
        """What these suggestions turned into, oldest link first. Locks nothing."""
        return list(
            self.session.scalars(
                select(SuggestionLink)
                .where(SuggestionLink.suggestion_id.in_(suggestion_ids))
                .order_by(SuggestionLink.linked_at)
            )
        )

    def claim_overdue(self, now: datetime, batch: int) -> Sequence[Suggestion]:
        """Up to ``batch`` open, unescalated suggestions past their answer deadline, the
        most overdue first. Their rows are locked until the transaction ends; rows another
        transaction holds are skipped (``FOR UPDATE SKIP LOCKED``, as the tickets' timer)."""
        return self.session.scalars(
            select(Suggestion)
            .where(Suggestion.state == "open", Suggestion.escalated_at.is_(None), Suggestion.answer_due_at < now)
            .order_by(Suggestion.answer_due_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()

    def page(self, r: Reach, query: dict[str, Any]) -> Sequence[Suggestion]:
        """Up to ``limit + 1`` suggestions by id after ``cursor``, matching the query's
        filters, within the caller's reach. Locks nothing."""
        stmt = select(Suggestion)
        for key in ("community_id", "topic", "state"):
            if query.get(key):
                stmt = stmt.where(getattr(Suggestion, key) == str(query[key]))
        if not r.everything:
            mine = [Suggestion.community_id.in_(r.communities)]
            if r.collector is not None:
                mine.append(Suggestion.collected_by == r.collector)
            if r.resident is not None:
                mine.append(
                    Suggestion.id.in_(
                        select(SuggestionResident.suggestion_id).where(SuggestionResident.resident_id == r.resident)
                    )
                )
            stmt = stmt.where(or_(*mine))
        if query.get("cursor"):
            stmt = stmt.where(Suggestion.id > query["cursor"])
        return self.session.scalars(stmt.order_by(Suggestion.id).limit(query["limit"] + 1)).all()

    def collected(self, community_id: str | None, low: datetime | None, high: datetime | None) -> Sequence[Suggestion]:
        """The suggestions (of the community, when given) collected in [low, high).
        Locks nothing."""
        stmt = select(Suggestion)
        if community_id:
            stmt = stmt.where(Suggestion.community_id == community_id)
        if low:
            stmt = stmt.where(Suggestion.collected_at >= low)
        if high:
            stmt = stmt.where(Suggestion.collected_at < high)
        return self.session.scalars(stmt).all()

    def residents_per_raise(self) -> dict[str, int]:
        """Per suggestion id: how many residents first raised their point in it. Locks
        nothing."""
        return dict(
            self.session.execute(
                select(SuggestionResident.raised_in_id, func.count()).group_by(SuggestionResident.raised_in_id)
            ).all()
        )

    def indicator_counts(self, low: datetime | None, high: datetime | None) -> dict[str, int]:
        """Suggestions collected, answered (on time) and acted on in [low, high). Locks
        nothing."""

        def count(column: Any, *extra: Any) -> int:
            stmt = select(func.count()).select_from(Suggestion).where(column.is_not(None), *extra)
            if low:
                stmt = stmt.where(column >= low)
            if high:
                stmt = stmt.where(column < high)
            return int(self.session.scalar(stmt) or 0)

        return {
            "suggestions_collected": count(Suggestion.collected_at),
            "suggestions_answered": count(Suggestion.answered_at),
            "suggestions_answered_on_time": count(
                Suggestion.answered_at, Suggestion.answered_at <= Suggestion.answer_due_at
            ),
            "suggestions_acted_on": count(Suggestion.acted_at),
        }

    def ticket_exists(self, ticket_id: str) -> bool:
        """Whether there is a ticket with this id. Locks nothing."""
        return self.session.get(Ticket, ticket_id) is not None
