"""Totals and leaderboards. One volunteer's all-time total is a primary-key read of
``volunteer_totals``; a period total reads that volunteer's entries through the
(volunteer_id, served_on) index; groups aggregate verified entries in the period."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, distinct, func, literal, select
from sqlalchemy.orm import Session

from services.hours.models import Entry, TeamMember, VolunteerTotal, VolunteerView
from yilin.errors import NotFound


def _period(stmt: Any, period_from: date | None, period_to: date | None) -> Any:
    if period_from:
        stmt = stmt.where(Entry.served_on >= period_from)
    if period_to:
        stmt = stmt.where(Entry.served_on <= period_to)
    return stmt


def volunteer_total(
    session: Session, volunteer_id: Any, period_from: date | None = None, period_to: date | None = None
) -> dict[str, Any]:
    volunteer_id = str(volunteer_id)
    stmt = _TOTAL
    if period_from or period_to:
        stmt = stmt.add_columns(
            _period(
                select(func.coalesce(func.sum(Entry.minutes), 0)).where(
                    Entry.volunteer_id == volunteer_id, Entry.status == "verified"
                ),
                period_from,
                period_to,
            )
            .scalar_subquery()
            .label("period_minutes")
        )
    row = session.connection().execute(stmt, {"volunteer_id": volunteer_id}).one()  # plain row: no ORM layer
    total = row.volunteer_id is not None
    if not total and not row.known:
        raise NotFound("unknown volunteer", {"volunteer_id": ["not found"]})
    view = {
        "volunteer_id": volunteer_id,
        "verified_minutes": row.verified_minutes if total else 0,
        "pending_minutes": row.pending_minutes if total else 0,
        "star_level": row.star_level if total else 0,
        "selected": row.selected if total else False,
        "period_from": period_from,
        "period_to": period_to,
    }
    if period_from or period_to:
        view["verified_minutes"] = int(row.period_minutes or 0)
    return view


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


_TOTAL = _total_select()


def leaderboard(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    """Verified minutes ranked by volunteer, team (current members), community (where
    the volunteer lives) or organisation (that recorded the hours)."""
    by, limit = query["by"], query["limit"]
    period_from, period_to = query.get("period_from"), query.get("period_to")
    filtered = any(query.get(k) for k in ("community_id", "organisation_id", "team_id", "period_from", "period_to"))
    if by == "volunteer" and not filtered:
        rows = session.execute(
            select(VolunteerTotal.volunteer_id, VolunteerTotal.verified_minutes)
            .where(VolunteerTotal.verified_minutes > 0)
            .order_by(VolunteerTotal.verified_minutes.desc(), VolunteerTotal.volunteer_id)
            .limit(limit)
        ).all()
        items = [(vid, minutes, 1) for vid, minutes in rows]
    else:
        key = {
            "volunteer": Entry.volunteer_id,
            "team": TeamMember.team_id,
            "community": VolunteerView.community_id,
            "organisation": Entry.organisation_id,
        }[by]
        minutes = func.sum(Entry.minutes)
        stmt = select(key, minutes, func.count(distinct(Entry.volunteer_id))).where(Entry.status == "verified")
        stmt = _period(stmt, period_from, period_to)
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
        items = [(k, int(m), int(n)) for k, m, n in session.execute(stmt).all()]
    return {
        "by": by,
        "period_from": period_from,
        "period_to": period_to,
        "items": [
            {"rank": i, "id": k, "verified_minutes": m, "volunteers": n} for i, (k, m, n) in enumerate(items, start=1)
        ],
    }


def indicator_counts(session: Session, period_from: date | None, period_to: date | None) -> dict[str, int]:
    """The hour ledger's part of the district indicators: verified time served in the
    period (days inclusive) and how many volunteers it credits."""
    minutes, volunteers = session.execute(
        _period(
            select(func.coalesce(func.sum(Entry.minutes), 0), func.count(distinct(Entry.volunteer_id))).where(
                Entry.status == "verified"
            ),
            period_from,
            period_to,
        )
    ).one()
    return {
        "verified_minutes": int(minutes),
        "verified_hours": int(minutes) // 60,
        "volunteers_credited": int(volunteers),
    }
