"""Service-level reports by community (or grid), category and month."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from services.tickets.rules import STATES, aware
from services.tickets.store.tickets import TicketStore


def _month_start(month: str) -> datetime:
    year, mon = (int(p) for p in month.split("-"))
    return datetime(year, mon, 1, tzinfo=timezone.utc)


def _next_month(month: str) -> datetime:
    year, mon = (int(p) for p in month.split("-"))
    return datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=timezone.utc)


def _minutes(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((aware(end) - aware(start)).total_seconds() // 60)


def _median(values: list[int]) -> int | None:
    return statistics.median_low(values) if values else None  # an observed value, whole minutes


def _breached(t: Any) -> bool:
    """A deadline missed: seen by the timer, or visible in the timestamps."""
    late_assign = t.assigned_at is not None and aware(t.assigned_at) > aware(t.assign_due_at)
    late_resolve = t.resolved_at is not None and aware(t.resolved_at) > aware(t.resolve_due_at)
    return bool(t.assign_breached or t.resolve_breached or late_assign or late_resolve)


def report(session: Session, query: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (community, category, month of the report), or per (community, grid,
    category, month) with ``by=grid``: counts by state, median
    minutes to assign and to resolve, SLA breach rate, mean rating and share satisfied."""
    by_grid = query.get("by") == "grid"
    rows_in = TicketStore(session).report_rows(
        str(query["community_id"]) if query.get("community_id") else None,
        str(query["grid_id"]) if query.get("grid_id") else None,
        query.get("category_code") or None,
        _month_start(query["from_month"]) if query.get("from_month") else None,
        _next_month(query["to_month"]) if query.get("to_month") else None,
    )
    groups: dict[tuple[str, str, str, str], list[Any]] = defaultdict(list)
    for row in rows_in:
        grid = (row.grid_id or "") if by_grid else ""
        groups[(row.community_id, grid, row.category_code, aware(row.reported_at).strftime("%Y-%m"))].append(row)
    rows = []
    for (community_id, grid, category_code, month), tickets in sorted(
        groups.items(), key=lambda kv: (kv[0][3], kv[0][0], kv[0][1], kv[0][2])
    ):
        by_state = {s: 0 for s in STATES}
        for t in tickets:
            by_state[t.state] += 1
        to_assign = [m for t in tickets if (m := _minutes(t.reported_at, t.assigned_at)) is not None]
        # A resolution that was confirmed keeps its resolved_at; a reopened one starts over.
        to_resolve = [m for t in tickets if (m := _minutes(t.reported_at, t.resolved_at)) is not None]
        ratings = [t.rating for t in tickets if t.rating is not None]
        live = [t for t in tickets if t.state != "cancelled"]
        rows.append(
            {
                "community_id": community_id,
                **({"grid_id": grid or None} if by_grid else {}),
                "category_code": category_code,
                "month": month,
                "total": len(tickets),
                "by_state": by_state,
                "median_minutes_to_assign": _median(to_assign),
                "median_minutes_to_resolve": _median(to_resolve),
                "sla_breach_rate": round(sum(_breached(t) for t in live) / len(live), 4) if live else None,
                "mean_rating": round(statistics.fmean(ratings), 2) if ratings else None,
                "share_satisfied": round(sum(r >= 4 for r in ratings) / len(ratings), 4) if ratings else None,
                "ratings": len(ratings),
            }
        )
    return rows
