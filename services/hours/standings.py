"""Totals and leaderboards, read through :class:`~services.hours.store.StandingsStore`:
a volunteer's total (all time or in a period), groups ranked by verified minutes, and
the ledger's part of the district indicators."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypedDict

from sqlalchemy.orm import Session

from services.hours.store import StandingsStore, TotalReads
from yilin.errors import NotFound
from yilin.plainreads import Reader


class TotalView(TypedDict):
    """A volunteer's total (``VolunteerTotalOut``, ``SelectionOut``): in the period when
    one is given, all time otherwise."""

    volunteer_id: str
    verified_minutes: int
    pending_minutes: int
    star_level: int
    selected: bool
    period_from: date | None
    period_to: date | None


class RankView(TypedDict):
    rank: int
    id: str | None
    verified_minutes: int
    volunteers: int


class LeaderboardView(TypedDict):
    """A leaderboard (``LeaderboardOut``)."""

    by: str
    period_from: date | None
    period_to: date | None
    items: list[RankView]


class IndicatorCounts(TypedDict):
    verified_minutes: int
    verified_hours: int
    volunteers_credited: int


def volunteer_total(
    reader: Reader, volunteer_id: Any, period_from: date | None = None, period_to: date | None = None
) -> TotalView:
    """A volunteer's running total (with a period, its verified minutes in the period),
    read past the session: the gateway's read of hours."""
    volunteer_id = str(volunteer_id)
    row = TotalReads(reader).total(volunteer_id, period_from, period_to)
    total = row.volunteer_id is not None
    if not total and not row.known:
        raise NotFound("unknown volunteer", {"volunteer_id": ["not found"]})
    view: TotalView = {
        "volunteer_id": volunteer_id,
        "verified_minutes": row.verified_minutes or 0 if total else 0,
        "pending_minutes": row.pending_minutes or 0 if total else 0,
        "star_level": row.star_level or 0 if total else 0,
        "selected": bool(row.selected) if total else False,
        "period_from": period_from,
        "period_to": period_to,
    }
    if period_from or period_to:
        view["verified_minutes"] = int(row.period_minutes or 0)
    return view


def leaderboard(session: Session, query: Mapping[str, Any]) -> LeaderboardView:
    """Verified minutes ranked by volunteer, team (current members), community (where
    the volunteer lives) or organisation (that recorded the hours)."""
    items = StandingsStore(session).leaderboard(query)
    return {
        "by": query["by"],
        "period_from": query.get("period_from"),
        "period_to": query.get("period_to"),
        "items": [
            {"rank": i, "id": k, "verified_minutes": m, "volunteers": n} for i, (k, m, n) in enumerate(items, start=1)
        ],
    }


def indicator_counts(session: Session, period_from: date | None, period_to: date | None) -> IndicatorCounts:
    """The hour ledger's part of the district indicators: verified time served in the
    period (days inclusive) and how many volunteers it credits."""
    minutes, volunteers = StandingsStore(session).verified_in(period_from, period_to)
    return {
        "verified_minutes": minutes,
        "verified_hours": minutes // 60,
        "volunteers_credited": volunteers,
    }
