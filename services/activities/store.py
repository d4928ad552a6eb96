"""All of the activities service's SQL: the activity row lock that keeps sign-ups within
capacity, the reads the rules need, and the aggregates the reports count.

Every sign-up, cancellation, check-in and close first locks its activity's row
(``SELECT … FOR UPDATE``): on PostgreSQL concurrent sign-ups from any number of replicas
queue on it, so each sees the confirmed count the one before it left. SQLite has one
writer at a time and a single pooled connection per process, which serialises them too."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, make_transient_to_detached

from services.activities.models import Activity, Commendation, Project, SignUp, VerifiedMinutes
from services.activities.rules import HELD
from services.district import LOCAL_TIME
from yilin.db import insert_ignoring_conflicts
from yilin.errors import NotFound
from yilin.paging import paginate
from yilin.rows import found
from yilin.tables import new_id, utcnow


def local_start(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TIME)


class ActivityStore:
    """The service's reads and writes within one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- projects -----------------------------------------------------------------------
    def add_project(self, **columns: Any) -> Project:
        project = Project(**columns)
        self.session.add(project)
        self.session.flush()
        return project

    def project(self, project_id: Any) -> Project:
        return found(self.session.get(Project, str(project_id)), "project not found", "project_id")

    def list_projects(self, query: dict[str, Any], render: Any) -> dict[str, Any]:
        stmt = select(Project)
        if query.get("agency_id"):
            stmt = stmt.where(Project.agency_id == str(query["agency_id"]))
        rows = paginate(self.session, stmt, Project.id, query["limit"], query.get("cursor"), render)
        if query.get("community_id"):
            community = str(query["community_id"])
            rows["items"] = [p for p in rows["items"] if community in p["community_ids"]]
        return rows

    def projects_in(self, period_from: date | None, period_to: date | None) -> list[Project]:
        stmt = select(Project)
        if period_from:
            stmt = stmt.where(Project.ends_on >= period_from)
        if period_to:
            stmt = stmt.where(Project.starts_on <= period_to)
        return list(self.session.scalars(stmt.order_by(Project.id)))

    def projects_running(self, period_from: date | None, period_to: date | None) -> int:
        stmt = select(func.count()).select_from(Project)
        if period_from:
            stmt = stmt.where(Project.ends_on >= period_from)
        if period_to:
            stmt = stmt.where(Project.starts_on <= period_to)
        return int(self.session.scalar(stmt) or 0)

    # -- activities -----------------------------------------------------------------------
    def add_activity(self, **columns: Any) -> Activity:
        activity = Activity(**columns)
        self.session.add(activity)
        self.session.flush()
        return activity

    def activity(self, activity_id: Any) -> Activity:
        return found(self.session.get(Activity, str(activity_id)), "activity not found", "activity_id")

    def lock_activity(self, activity_id: Any) -> Activity:
        """The activity's row, locked until the transaction ends."""
        row = self.session.scalar(
            select(Activity)
            .where(Activity.id == str(activity_id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return found(row, "activity not found", "activity_id")

    def list_activities(self, query: dict[str, Any], render: Any) -> dict[str, Any]:
        stmt = select(Activity)
        for key in ("project_id", "organisation_id", "community_id", "grid_id"):
            if query.get(key):
                stmt = stmt.where(getattr(Activity, key) == str(query[key]))
        for key in ("kind", "state"):
            if query.get(key):
                stmt = stmt.where(getattr(Activity, key) == query[key])
        return paginate(self.session, stmt, Activity.id, query["limit"], query.get("cursor"), render)

    # -- sign-ups -------------------------------------------------------------------------
    def sign_up_of(self, activity_id: str, volunteer_id: str) -> SignUp | None:
        return self.session.scalar(
            select(SignUp).where(SignUp.activity_id == activity_id, SignUp.volunteer_id == volunteer_id)
        )

    def require_sign_up(self, activity_id: str, volunteer_id: str) -> SignUp:
        row = self.sign_up_of(activity_id, volunteer_id)
        if row is None:
            raise NotFound("the volunteer has not signed up for this activity", {"volunteer_id": ["not signed up"]})
        return row

    def add_sign_up(self, activity_id: str, volunteer_id: str, status: str, position: int) -> SignUp | None:
        """The volunteer's new sign-up in one statement (``INSERT … ON CONFLICT DO
        NOTHING``, no SELECT before it), or ``None`` when the volunteer already has a row
        for this activity (the unique pair): then the caller reads that one. The new row
        joins the session as the stored row it is, every column set, so reading it loads
        nothing and changing it is an UPDATE."""
        now = utcnow()
        columns: dict[str, Any] = {
            "id": new_id(),
            "activity_id": activity_id,
            "volunteer_id": volunteer_id,
            "status": status,
            "position": position,
            "checked_in_at": None,
            "checked_out_at": None,
            "minutes": None,
            "signed_up_at": now,
            "updated_at": now,
        }
        table = SignUp.__table__
        statement = insert_ignoring_conflicts(self.session, table).values(**columns).returning(table.c.id)
        if self.session.execute(statement).first() is None:
            return None
        row = SignUp(**columns)
        make_transient_to_detached(row)  # it is in the database already: no INSERT at the flush
        self.session.add(row)
        return row

    def sign_ups(self, activity_id: str, statuses: Sequence[str] = HELD) -> list[SignUp]:
        return list(
            self.session.scalars(
                select(SignUp)
                .where(SignUp.activity_id == activity_id, SignUp.status.in_(statuses))
                .order_by(SignUp.position)
            )
        )

    def list_sign_ups(
        self, activity_id: str, query: dict[str, Any], render: Any, volunteer_id: str | None = None
    ) -> dict[str, Any]:
        stmt = select(SignUp).where(SignUp.activity_id == activity_id)
        if volunteer_id is not None:  # a volunteer's own sign-up only
            stmt = stmt.where(SignUp.volunteer_id == volunteer_id)
        if query.get("status"):
            stmt = stmt.where(SignUp.status == query["status"])
        return paginate(self.session, stmt, SignUp.id, query["limit"], query.get("cursor"), render)

    # -- commendations ----------------------------------------------------------------------
    def add_commendation(self, **columns: Any) -> Commendation:
        row = Commendation(**columns)
        self.session.add(row)
        self.session.flush()
        return row

    def commendations(self, volunteer_id: str) -> list[Commendation]:
        return list(
            self.session.scalars(
                select(Commendation)
                .where(Commendation.volunteer_id == volunteer_id)
                .order_by(Commendation.awarded_on, Commendation.id)
            )
        )

    # -- what hours verified ----------------------------------------------------------------
    def add_verified(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            self.session.execute(insert_ignoring_conflicts(self.session, VerifiedMinutes.__table__), rows)

    # -- aggregates -------------------------------------------------------------------------
    def held(
        self,
        *,
        project_id: str | None = None,
        organisation_ids: Sequence[str] | None = None,
        community_id: str | None = None,
        period_from: date | None = None,
        period_to: date | None = None,
    ) -> list[Activity]:
        """Closed activities matching the filters, in start order."""
        stmt: Select[Any] = select(Activity).where(Activity.state == "closed")
        if project_id is not None:
            stmt = stmt.where(Activity.project_id == project_id)
        if organisation_ids is not None:
            stmt = stmt.where(Activity.organisation_id.in_(list(organisation_ids)))
        if community_id is not None:
            stmt = stmt.where(Activity.community_id == community_id)
        if period_from is not None:
            stmt = stmt.where(Activity.starts_at >= local_start(period_from))
        if period_to is not None:
            stmt = stmt.where(Activity.starts_at < local_start(period_to) + timedelta(days=1))
        return list(self.session.scalars(stmt.order_by(Activity.starts_at, Activity.id)))

    def attendees(self, activity_ids: Sequence[str]) -> list[tuple[str, str, int]]:
        """(activity id, volunteer id, minutes) of everyone credited time at these activities."""
        if not activity_ids:
            return []
        rows = self.session.execute(
            select(SignUp.activity_id, SignUp.volunteer_id, SignUp.minutes).where(
                SignUp.activity_id.in_(list(activity_ids)), SignUp.minutes.is_not(None)
            )
        )
        return [(a, v, int(m)) for a, v, m in rows]

    def verified_by_activity(self, activity_ids: Sequence[str]) -> dict[str, int]:
        if not activity_ids:
            return {}
        rows = self.session.execute(
            select(VerifiedMinutes.activity_id, func.sum(VerifiedMinutes.minutes))
            .where(VerifiedMinutes.activity_id.in_(list(activity_ids)))
            .group_by(VerifiedMinutes.activity_id)
        )
        return {a: int(m or 0) for a, m in rows}
