"""What projects and activities achieved, always computed from what happened: activities
held, beneficiary visits, distinct volunteers, attended and verified minutes, per project (over
time), per organisation or group of organisations, and per community and month."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from services.activities import rules
from services.activities.models import Activity, Project
from services.activities.store import ActivityStore


def _indicators(store: ActivityStore, held: Sequence[Activity]) -> dict[str, int]:
    ids = [a.id for a in held]
    verified = store.verified_by_activity(ids)
    return asdict(rules.indicators(held, ((v, m) for _, v, m in store.attendees(ids)), sum(verified.values())))


def _by_month(store: ActivityStore, held: Sequence[Activity]) -> list[dict[str, Any]]:
    months: dict[str, list[Activity]] = defaultdict(list)
    for activity in held:
        months[rules.month_of(activity.starts_at)].append(activity)
    return [{"month": month, **_indicators(store, rows)} for month, rows in sorted(months.items())]


def project_view(session: Session, project: Project) -> dict[str, Any]:
    store = ActivityStore(session)
    return {
        **{c.key: getattr(project, c.key) for c in Project.__table__.columns},
        "indicators": _indicators(store, store.held(project_id=project.id)),
    }


def get_project(session: Session, project_id: Any) -> dict[str, Any]:
    return project_view(session, ActivityStore(session).project(project_id))


def list_projects(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    return ActivityStore(session).list_projects(query, lambda rows: [project_view(session, p) for p in rows])


def project_report(session: Session, project_id: Any, query: dict[str, Any]) -> dict[str, Any]:
    store = ActivityStore(session)
    project = store.project(project_id)
    held = store.held(project_id=project.id, period_from=query["period_from"], period_to=query["period_to"])
    return {"project_id": project.id, "indicators": _indicators(store, held), "months": _by_month(store, held)}


def organisation_report(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    """One organisation, or a group (a university alliance): their activities and hours together."""
    store = ActivityStore(session)
    ids = sorted({str(o) for o in query["organisation_ids"]})
    held = store.held(organisation_ids=ids, period_from=query["period_from"], period_to=query["period_to"])
    return {"organisation_ids": ids, "indicators": _indicators(store, held), "months": _by_month(store, held)}


def community_report(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    store = ActivityStore(session)
    held = store.held(
        community_id=str(query["community_id"]) if query.get("community_id") else None,
        period_from=query["period_from"],
        period_to=query["period_to"],
    )
    by_grid = query.get("by") == "grid"
    places: dict[tuple[str, str], list[Activity]] = defaultdict(list)
    for activity in held:
        places[(activity.community_id, (activity.grid_id or "") if by_grid else "")].append(activity)
    items = [
        {"community_id": community, **({"grid_id": grid or None} if by_grid else {}), **row}
        for (community, grid), rows in sorted(places.items())
        for row in _by_month(store, rows)
    ]
    return {"items": items}


def group_report(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    """By beneficiary group (children in difficulty, elderly living alone, …): the
    projects serving it and what their activities achieved in the period."""
    store = ActivityStore(session)
    projects: dict[str, list[Project]] = defaultdict(list)
    for project in store.projects_in(query["period_from"], query["period_to"]):
        for group in project.beneficiary_groups:
            projects[group].append(project)
    items = []
    for group, serving in sorted(projects.items()):
        held = [
            a
            for p in serving
            for a in store.held(project_id=p.id, period_from=query["period_from"], period_to=query["period_to"])
        ]
        items.append({"beneficiary_group": group, "projects": len(serving), **_indicators(store, held)})
    return {"items": items}


def indicator_counts(session: Session, period_from: date | None, period_to: date | None) -> dict[str, int]:
    """The district indicators' share from this service: projects running, activities
    held and beneficiary visits in the period."""
    store = ActivityStore(session)
    held = store.held(period_from=period_from, period_to=period_to)
    return {
        "projects": store.projects_running(period_from, period_to),
        "activities": len(held),
        "beneficiary_visits": sum(a.beneficiary_visits for a in held),
    }
