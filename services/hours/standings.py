"""Totals and leaderboards. One volunteer's all-time total is a primary-key read of
``volunteer_totals``; a period total reads that volunteer's entries through the
(volunteer_id, served_on) index; groups aggregate verified entries in the period."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from services.hours.models import Entry, TeamMember, VolunteerTotal, VolunteerView
from yilin.errors import NotFound


def _period(stmt: Any, period_from: date | None, period_to: date | None) -> Any:
    if period_from:
        stmt = stmt.where(Entry.served_on >= period_from)
    if period_to:
        stmt = stmt.where(Entry.served_on <= period_to)
    return stmt


def volunteer_total(session: Session, volunteer_id: Any, period_from: date | None = None,
                    period_to: date | None = None) -> dict[str, Any]:
    volunteer_id = str(volunteer_id)
    total = session.get(VolunteerTotal, volunteer_id)
    if total is None and session.get(VolunteerView, volunteer_id) is None:
        raise NotFound("unknown volunteer", {"volunteer_id": ["not found"]})
    view = {"volunteer_id": volunteer_id, "verified_minutes": total.verified_minutes if total else 0,
            "pending_minutes": total.pending_minutes if total else 0, "star_level": total.star_level if total else 0,
            "selected": total.selected if total else False, "period_from": period_from, "period_to": period_to}
    if period_from or period_to:
        stmt = _period(select(func.coalesce(func.sum(Entry.minutes), 0))
                       .where(Entry.volunteer_id == volunteer_id, Entry.status == "verified"), period_from, period_to)
        view["verified_minutes"] = int(session.scalar(stmt) or 0)
    return view


def leaderboard(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    """Verified minutes ranked by volunteer, team (current members), community (where
    the volunteer lives) or organisation (that recorded the hours)."""
    by, limit = query["by"], query["limit"]
    period_from, period_to = query.get("period_from"), query.get("period_to")
    filtered = any(query.get(k) for k in ("community_id", "organisation_id", "team_id", "period_from", "period_to"))
    if by == "volunteer" and not filtered:
        rows = session.execute(select(VolunteerTotal.volunteer_id, VolunteerTotal.verified_minutes)
                               .where(VolunteerTotal.verified_minutes > 0)
                               .order_by(VolunteerTotal.verified_minutes.desc(), VolunteerTotal.volunteer_id)
                               .limit(limit)).all()
        items = [(vid, minutes, 1) for vid, minutes in rows]
    else:
        key = {"volunteer": Entry.volunteer_id, "team": TeamMember.team_id,
               "community": VolunteerView.community_id, "organisation": Entry.organisation_id}[by]
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
            stmt = stmt.where(Entry.volunteer_id.in_(select(TeamMember.volunteer_id)
                                                     .where(TeamMember.team_id == str(query["team_id"]))))
        if query.get("organisation_id"):
            stmt = stmt.where(Entry.organisation_id == str(query["organisation_id"]))
        stmt = stmt.group_by(key).order_by(minutes.desc(), key).limit(limit)
        items = [(k, int(m), int(n)) for k, m, n in session.execute(stmt).all()]
    return {"by": by, "period_from": period_from, "period_to": period_to,
            "items": [{"rank": i, "id": k, "verified_minutes": m, "volunteers": n}
                      for i, (k, m, n) in enumerate(items, start=1)]}
