"""Routes for projects, activities (sign-up, waiting list, check-in, close),
commendations and the activities reports."""

from __future__ import annotations

from marshmallow import Schema

from services.activities.permissions import COMMENDERS, PUBLISHERS, READERS, REPORT_READERS, VOLUNTEERS
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
from services.gateway.routing import Call, api
from yilin.paging import page_schema

TAG = "activities"


@api(
    "POST",
    "/projects",
    summary="Set up a project",
    tag=TAG,
    body=ProjectIn,
    response=ProjectOut,
    status=201,
    roles=PUBLISHERS,
)
def create_project(call: Call) -> dict:
    return call.rpc("activities").create_project(call.body)


@api(
    "GET",
    "/projects",
    summary="List projects",
    tag=TAG,
    query=ProjectQuery,
    response=page_schema(ProjectOut),
    roles=READERS,
)
def list_projects(call: Call) -> dict:
    return call.rpc("activities").list_projects(call.query)


@api(
    "GET",
    "/projects/<project_id>",
    summary="A project with its indicators",
    tag=TAG,
    response=ProjectOut,
    roles=READERS,
)
def get_project(call: Call) -> dict:
    return call.rpc("activities").get_project(call.path["project_id"])


@api(
    "GET",
    "/projects/<project_id>/report",
    summary="A project's indicators by month",
    tag=TAG,
    query=PeriodQuery,
    response=ProjectReportOut,
    roles=REPORT_READERS,
)
def project_report(call: Call) -> dict:
    return call.rpc("activities").project_report(call.path["project_id"], call.query)


@api(
    "POST",
    "/activities",
    summary="Publish an activity",
    tag=TAG,
    body=ActivityIn,
    response=ActivityOut,
    status=201,
    roles=PUBLISHERS,
)
def publish(call: Call) -> dict:
    return call.rpc("activities").publish(call.body)


@api(
    "GET",
    "/activities",
    summary="List activities",
    tag=TAG,
    query=ActivityQuery,
    response=page_schema(ActivityOut),
    roles=READERS,
)
def list_activities(call: Call) -> dict:
    return call.rpc("activities").list_activities(call.query)


@api(
    "GET",
    "/activities/reports/organisations",
    summary="Activities and hours of an organisation or a group of organisations",
    tag=TAG,
    query=OrganisationReportQuery,
    response=OrganisationReportOut,
    roles=REPORT_READERS,
)
def organisation_report(call: Call) -> dict:
    return call.rpc("activities").organisation_report(call.query)


@api(
    "GET",
    "/activities/reports/communities",
    summary="Activities by community and month",
    tag=TAG,
    query=CommunityReportQuery,
    response=CommunityReportOut,
    roles=REPORT_READERS,
)
def community_report(call: Call) -> dict:
    return call.rpc("activities").community_report(call.query)


@api(
    "GET",
    "/activities/reports/beneficiary-groups",
    summary="Projects and what their activities achieved, by beneficiary group",
    tag=TAG,
    query=PeriodQuery,
    response=GroupReportOut,
    roles=REPORT_READERS,
)
def group_report(call: Call) -> dict:
    return call.rpc("activities").group_report(call.query)


@api(
    "GET",
    "/activities/indicator-counts",
    summary="Projects, activities and beneficiary visits in a period",
    tag=TAG,
    query=PeriodQuery,
    response=IndicatorCountsOut,
    roles=REPORT_READERS,
)
def indicator_counts(call: Call) -> dict:
    return call.rpc("activities").indicator_counts(call.query)


@api("GET", "/activities/<activity_id>", summary="Get an activity", tag=TAG, response=ActivityOut, roles=READERS)
def get_activity(call: Call) -> dict:
    return call.rpc("activities").get_activity(call.path["activity_id"])


@api(
    "GET",
    "/activities/<activity_id>/sign-ups",
    summary="An activity's sign-ups and waiting list",
    tag=TAG,
    query=SignUpQuery,
    response=page_schema(SignUpOut),
    roles=READERS,
)
def sign_ups(call: Call) -> dict:
    return call.rpc("activities").sign_ups(call.path["activity_id"], call.query)


def _action(
    path: str, method: str, body: type[Schema] | None, response: type[Schema], summary: str, roles: tuple[str, ...]
) -> None:
    def handler(call: Call) -> dict:
        rpc = getattr(call.rpc("activities"), method)
        return rpc(call.path["activity_id"], call.body) if body is not None else rpc(call.path["activity_id"])

    handler.__name__ = method
    api(
        "POST", f"/activities/<activity_id>/{path}", summary=summary, tag=TAG, body=body, response=response, roles=roles
    )(handler)


_action(
    "sign-ups",
    "sign_up",
    SignUpIn,
    SignUpOut,
    "Sign up (a place, or the waiting list when full; 409 naming required_skills without a required skill)",
    VOLUNTEERS,
)
_action(
    "cancellations",
    "cancel_sign_up",
    SignUpIn,
    SignUpOut,
    "Cancel a sign-up (the waiting list moves up)",
    VOLUNTEERS + PUBLISHERS,
)
_action("check-ins", "check_in", CheckIn, SignUpOut, "Check a volunteer in (the organiser)", PUBLISHERS)
_action("check-outs", "check_out", CheckIn, SignUpOut, "Check a volunteer out (the organiser)", PUBLISHERS)
_action("check-in-code", "check_in_code", None, CodeOut, "Hand out a short-lived check-in code", PUBLISHERS)
_action("code-check-ins", "check_in_with_code", CodeCheckIn, SignUpOut, "Check yourself in with the code", VOLUNTEERS)
_action("no-shows", "no_show", SignUpIn, SignUpOut, "Mark a confirmed volunteer as a no-show", PUBLISHERS)
_action("close", "close", CloseIn, ActivityOut, "Close the activity with its beneficiary visits", PUBLISHERS)


@api(
    "POST",
    "/commendations",
    summary="Award a volunteer a commendation",
    tag=TAG,
    body=CommendationIn,
    response=AwardOut,
    status=201,
    roles=COMMENDERS,
)
def award_commendation(call: Call) -> dict:
    return call.rpc("activities").award_commendation(call.body)
