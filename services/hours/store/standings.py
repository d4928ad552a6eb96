"""Totals and leaderboards. One volunteer's all-time total is a primary-key read of
``volunteer_totals``; a period total reads that volunteer's entries through the
(volunteer_id, served_on) index; groups aggregate verified entries in the period.
Plain reads; nothing is locked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, distinct, func, literal, select

from services.hours.models import Entry, TeamMember, VolunteerTotal, VolunteerView
from services.hours.store.base import StoreBase
from yilin.plainreads import Query, Reader


@dataclass(frozen=True, slots=True)
class TotalRow:
    """A volunteer's running total as stored: every column ``None`` while they hold none."""

    volunteer_id: str | None  # None: no total yet
    verified_minutes: int | None
    pending_minutes: int | None
    star_level: int | None
    selected: bool | None
    known: bool  # whether the registry's projection knows the volunteer
    period_minutes: int | None  # verified in the period asked, None when none was


class Ranked(NamedTuple):
    """One line of a leaderboard, best first: whose (a volunteer, team, community or
    organisation; ``None`` for volunteers of no community), their verified minutes, and
    how many volunteers earned them."""

    id: str | None
    verified_minutes: int
    volunteers: int


def _period(stmt: Any, period_from: date | None, period_to: date | None) -> Any:
    if period_from:
        stmt = stmt.where(Entry.served_on >= period_from)
    if period_to:
        stmt = stmt.where(Entry.served_on <= period_to)
    return stmt


def _total_select() -> Select[Any]:
    """A volunteer's running total (NULLs when there is none yet) and whether the
    volunteer is known at all, in one statement; built once, as constructing it costs
    several times running it."""
    volunteer_id = bindparam("volunteer_id")
    known = select(VolunteerView.id).where(VolunteerView.id == volunteer_id).exists()
    anchor = select(literal(1).label("one")).subquery()  # one row, whether or not a total exists
    return (
        select(
            VolunteerTotal.volunteer_id,
            VolunteerTotal.verified_minutes,
            VolunteerTotal.pending_minutes,
            VolunteerTotal.star_level,
            VolunteerTotal.selected,
            known.label("known"),
        )
        .select_from(anchor)
        .outerjoin(VolunteerTotal, VolunteerTotal.volunteer_id == volunteer_id)
    )


@cache
def _total_query(since: bool, until: bool) -> Query:
    """The total's statement, with the minutes verified in the period when it has a
    start (``since``) or an end (``until``): each shape built and compiled once."""
    stmt = _total_select()
    if since or until:
        period = select(func.coalesce(func.sum(Entry.minutes), 0)).where(
            Entry.volunteer_id == bindparam("volunteer_id"), Entry.status == "verified"
        )
        if since:
            period = period.where(Entry.served_on >= bindparam("period_from"))
        if until:
            period = period.where(Entry.served_on <= bindparam("period_to"))
        stmt = stmt.add_columns(period.scalar_subquery().label("period_minutes"))
    return Query(stmt)


class TotalReads:
    """A volunteer's total, read past the session (:mod:`yilin.plainreads`): the
    gateway's read of hours, one compiled statement."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def total(self, volunteer_id: str, period_from: date | None = None, period_to: date | None = None) -> TotalRow:
        """``volunteer_id``'s running total and whether they are known, in one statement;
        with a period, also the minutes verified in it (days inclusive)."""
        period = bool(period_from or period_to)
        query = _total_query(period_from is not None, period_to is not None)
        params = {"volunteer_id": volunteer_id, "period_from": period_from, "period_to": period_to}
        (row,) = self.reader.all(query, params)  # the anchor gives one row, total or not
        return TotalRow(
            row.volunteer_id,
            row.verified_minutes,
            row.pending_minutes,
            row.star_level,
            row.selected,
            bool(row.known),
            row.period_minutes if period else None,
        )


class StandingsStore(StoreBase):
    """The reads of totals, leaderboards and the district's indicators."""

    def leaderboard(self, query: Mapping[str, Any]) -> list[Ranked]:
        """Verified minutes ranked by ``query["by"]``: volunteer, team (current members),
        community (where the volunteer lives) or organisation (that recorded the hours),
        within ``query``'s period and community, organisation or team; at most
        ``query["limit"]`` lines. Volunteers over all time, the district's or one community's, read the
        running totals."""
        by, limit = query["by"], query["limit"]
        all_time = not any(query.get(k) for k in ("organisation_id", "team_id", "period_from", "period_to"))
        if by == "volunteer" and all_time:
            # A volunteer's all-time minutes are their running total: the cost is the
            # volunteers ranked (all, or one community's), never the ledger's history.
            ranked = select(VolunteerTotal.volunteer_id, VolunteerTotal.verified_minutes).where(
                VolunteerTotal.verified_minutes > 0
            )
            order: Any = VolunteerTotal.verified_minutes
            if query.get("community_id"):
                ranked = ranked.join(VolunteerView, VolunteerView.id == VolunteerTotal.volunteer_id).where(
                    VolunteerView.community_id == str(query["community_id"])
                )
                # "+ 0": an order the verified_minutes index cannot give, so PostgreSQL starts
                # from the community's few hundred volunteers and sorts them, instead of
                # walking the whole district's totals best first until enough of the
                # community turn up (43 ms at p50, 313 ms at p99 over 173,000 volunteers).
                order = order + 0
            rows = self.session.execute(ranked.order_by(order.desc(), VolunteerTotal.volunteer_id).limit(limit)).all()
            return [Ranked(vid, minutes, 1) for vid, minutes in rows]
        key = {
            "volunteer": Entry.volunteer_id,
            "team": TeamMember.team_id,
            "community": VolunteerView.community_id,
            "organisation": Entry.organisation_id,
        }[by]
        minutes = func.sum(Entry.minutes)
        stmt = select(key, minutes, func.count(distinct(Entry.volunteer_id))).where(Entry.status == "verified")
        stmt = _period(stmt, query.get("period_from"), query.get("period_to"))
        if by == "community" or query.get("community_id"):
            stmt = stmt.join(VolunteerView, VolunteerView.id == Entry.volunteer_id)
        if query.get("community_id"):
            stmt = stmt.where(VolunteerView.community_id == str(query["community_id"]))
        if by == "team":
            stmt = stmt.join(TeamMember, TeamMember.volunteer_id == Entry.volunteer_id)
        if query.get("team_id"):
            stmt = stmt.where(
                Entry.volunteer_id.in_(
                    select(TeamMember.volunteer_id).where(TeamMember.team_id == str(query["team_id"]))
                )
            )
        if query.get("organisation_id"):
            stmt = stmt.where(Entry.organisation_id == str(query["organisation_id"]))
        stmt = stmt.group_by(key).order_by(minutes.desc(), key).limit(limit)
        return [Ranked(k, int(m), int(n)) for k, m, n in self.session.execute(stmt).all()]

    def verified_in(self, period_from: date | None, period_to: date | None) -> tuple[int, int]:
        """Verified minutes served in the period (days inclusive) and how many volunteers
        they credit."""
        minutes, volunteers = self.session.execute(
            _period(
                select(func.coalesce(func.sum(Entry.minutes), 0), func.count(distinct(Entry.volunteer_id))).where(
                    Entry.status == "verified"
                ),
                period_from,
                period_to,
            )
        ).one()
        return int(minutes), int(volunteers)
