"""Activities service entrypoints: parse, authorise, call the operations, return."""

from __future__ import annotations

from typing import Any

from services import METRICS_PORTS
from services.activities import business_metrics, consumed, history, operations, reports, rules
from services.activities.events import EVENTS
from services.activities.models import Base
from services.activities.permissions import SIGN_UP_DISTRICT, SIGN_UP_READERS
from services.activities.schemas import (
    ActivityIn,
    ActivityOut,
    ActivityQuery,
    AwardOut,
    CheckIn,
    CloseIn,
    CodeCheckIn,
    CodeOut,
    CommendationIn,
    CommunityReportOut,
    CommunityReportQuery,
    GroupReportOut,
    HistoryResult,
    IndicatorCountsOut,
    OrganisationReportOut,
    OrganisationReportQuery,
    PeriodQuery,
    ProjectIn,
    ProjectOut,
    ProjectQuery,
    ProjectReportOut,
    SignUpIn,
    SignUpOut,
    SignUpQuery,
)
from services.activities.store import ActivityStore
from services.registry.lookups import require_grid, volunteer_skills
from services.roles import AUDIT_READERS
from yilin.audit import AuditLogRpc
from yilin.consuming import consumes
from yilin.db import Database, UnitOfWork
from yilin.errors import Forbidden, load
from yilin.events import Envelope
from yilin.httpreads import read_rpc
from yilin.identity import Caller
from yilin.metrics import Instrumentation
from yilin.paging import page_schema
from yilin.rpc import RpcProxy, rpc, write_rpc
from yilin.tracing import Tracing

PROJECT, PROJECTS = ProjectOut(), page_schema(ProjectOut)()
ACTIVITY, ACTIVITIES = ActivityOut(), page_schema(ActivityOut)()
SIGN_UP, SIGN_UPS = SignUpOut(), page_schema(SignUpOut)()
CODE, COMMENDATION, COMMENDATIONS = CodeOut(), AwardOut(), AwardOut(many=True)
PROJECT_REPORT, ORGANISATION_REPORT = ProjectReportOut(), OrganisationReportOut()
COMMUNITY_REPORT, COUNTS, GROUP_REPORT = CommunityReportOut(), IndicatorCountsOut(), GroupReportOut()
HISTORY_RESULT = HistoryResult()


class ActivitiesService(AuditLogRpc):
    name = "activities"
    metrics_port = METRICS_PORTS["activities"]
    audit_readers = AUDIT_READERS

    db = Database(Base.metadata, EVENTS)
    caller = Caller()
    metrics = Instrumentation()
    traces = Tracing()  # one span per worker when OTLP_ENDPOINT is set (yilin.tracing)
    # The registry owns places and volunteers: a grid is checked with it at publishing, and
    # a volunteer's skills, for an activity that requires some, are asked of it at sign-up
    # rather than kept from its volunteer events (which do carry skills). A copy would hold
    # nobody registered before this service first subscribed (events are not replayed) and
    # lag a volunteer who has just registered or added a skill; one RPC on a sign-up that
    # needs it is simpler and always the registry's current answer.
    registry = RpcProxy("registry")

    @rpc
    def ping(self) -> str:
        return "pong"

    # projects
    @write_rpc
    def create_project(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(ProjectIn(), payload)
        with self.db.transaction() as uow:
            project = operations.create_project(uow, self.caller, data)
            return PROJECT.dump(reports.project_view(uow.session, project))

    @read_rpc
    def get_project(self, project_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return PROJECT.dump(reports.get_project(session, project_id))

    @read_rpc
    def list_projects(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(ProjectQuery(), query)
        with self.db.read() as session:
            return PROJECTS.dump(reports.list_projects(session, q))

    @read_rpc
    def project_report(self, project_id: str, query: dict[str, Any]) -> dict[str, Any]:
        q = load(PeriodQuery(), query)
        with self.db.read() as session:
            return PROJECT_REPORT.dump(reports.project_report(session, project_id, q))

    # activities
    @write_rpc
    def publish(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(ActivityIn(), payload)
        if data.get("grid_id"):
            require_grid(self.registry, str(data["grid_id"]), str(data["community_id"]))
        with self.db.transaction() as uow:
            return ACTIVITY.dump(operations.publish(uow, self.caller, data))

    @read_rpc
    def get_activity(self, activity_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return ACTIVITY.dump(ActivityStore(session).activity(activity_id))

    @read_rpc
    def list_activities(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(ActivityQuery(), query)
        with self.db.read() as session:
            return ACTIVITIES.dump(ActivityStore(session).list_activities(q, list))

    @read_rpc
    def sign_ups(self, activity_id: str, query: dict[str, Any]) -> dict[str, Any]:
        q = load(SignUpQuery(), query)
        with self.db.read() as session:
            store = ActivityStore(session)
            activity = store.activity(activity_id)
            every, problem = rules.sign_ups_reach(
                self.caller, activity.organisation_id, activity.organiser, SIGN_UP_READERS, SIGN_UP_DISTRICT
            )
            if problem is not None:
                raise Forbidden(problem.message, problem.details)
            own = None if every else self.caller.subject
            return SIGN_UPS.dump(store.list_sign_ups(activity.id, q, list, own))

    @write_rpc
    def sign_up(self, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(SignUpIn(), payload)
        volunteer_id = str(data["volunteer_id"])
        required = operations.known_required_skills(activity_id)
        if required is None:
            with self.db.read() as session:
                required = operations.required_skills(session, activity_id)
        # Asked before the transaction, so no RPC runs under the activity's row lock.
        skills = volunteer_skills(self.registry, volunteer_id) if required else []
        with self.db.transaction() as uow:
            row = SIGN_UP.dump(operations.sign_up(uow, self.caller, activity_id, volunteer_id, skills))
        business_metrics.SIGN_UPS.labels(self.name, row["status"]).inc()
        return row

    @write_rpc
    def cancel_sign_up(self, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(SignUpIn(), payload)
        with self.db.transaction() as uow:
            row = SIGN_UP.dump(operations.cancel(uow, self.caller, activity_id, str(data["volunteer_id"])))
        business_metrics.SIGN_UPS.labels(self.name, "cancelled").inc()
        return row

    @write_rpc
    def check_in(self, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(CheckIn(), payload)
        with self.db.transaction() as uow:
            row = operations.check_in(uow, self.caller, activity_id, str(data["volunteer_id"]), data.get("at"))
            return SIGN_UP.dump(row)

    @write_rpc
    def check_out(self, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(CheckIn(), payload)
        with self.db.transaction() as uow:
            row = operations.check_out(uow, self.caller, activity_id, str(data["volunteer_id"]), data.get("at"))
            return SIGN_UP.dump(row)

    @write_rpc
    def check_in_code(self, activity_id: str) -> dict[str, Any]:
        with self.db.transaction() as uow:
            activity = operations.hand_out_code(uow, self.caller, activity_id)
            return CODE.dump({"code": activity.code, "expires_at": activity.code_expires_at})

    @write_rpc
    def check_in_with_code(self, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(CodeCheckIn(), payload)
        with self.db.transaction() as uow:
            row = operations.check_in_with_code(uow, self.caller, activity_id, str(data["volunteer_id"]), data["code"])
            return SIGN_UP.dump(row)

    @write_rpc
    def no_show(self, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(SignUpIn(), payload)
        with self.db.transaction() as uow:
            return SIGN_UP.dump(operations.mark_no_show(uow, self.caller, activity_id, str(data["volunteer_id"])))

    @write_rpc
    def close(self, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(CloseIn(), payload)
        with self.db.transaction() as uow:
            return ACTIVITY.dump(operations.close(uow, self.caller, activity_id, data["beneficiary_visits"]))

    @write_rpc
    def import_history(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Closed activities of the past with their attendance, in bulk (rows carry their
        ids: one stored already is a duplicate)."""
        with self.db.transaction() as uow:
            return HISTORY_RESULT.dump(history.import_history(uow, self.caller, rows))

    # commendations
    @write_rpc
    def award_commendation(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(CommendationIn(), payload)
        with self.db.transaction() as uow:
            return COMMENDATION.dump(operations.award(uow, self.caller, data))

    @rpc
    def commendations(self, volunteer_id: str) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return COMMENDATIONS.dump(ActivityStore(session).commendations(volunteer_id))

    # reports
    @read_rpc
    def organisation_report(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(OrganisationReportQuery(), query)
        with self.db.read() as session:
            return ORGANISATION_REPORT.dump(reports.organisation_report(session, q))

    @read_rpc
    def community_report(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(CommunityReportQuery(), query)
        with self.db.read() as session:
            return COMMUNITY_REPORT.dump(reports.community_report(session, q))

    @read_rpc
    def group_report(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(PeriodQuery(), query)
        with self.db.read() as session:
            return GROUP_REPORT.dump(reports.group_report(session, q))

    @read_rpc
    def indicator_counts(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Projects, activities and beneficiary visits for a period (``from``/``to``), for
        the district indicators."""
        q = load(PeriodQuery(), query or {})
        with self.db.read() as session:
            return COUNTS.dump(reports.indicator_counts(session, q["period_from"], q["period_to"]))

    # what the hour ledger verified for activities' attendance
    @consumes("hours", "hours.verified")
    def on_hours_verified(self, uow: UnitOfWork, event: Envelope) -> None:
        data = consumed.read(consumed.HoursVerified, event.type, event.data)
        if data["source"] == consumed.ATTENDANCE_SOURCE:
            ActivityStore(uow.session).add_verified(
                [
                    {
                        "entry_id": data["entry_id"],
                        "activity_id": data["source_id"],
                        "volunteer_id": data["volunteer_id"],
                        "minutes": data["minutes"],
                    }
                ]
            )
