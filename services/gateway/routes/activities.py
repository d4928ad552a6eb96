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
from services.gateway.routing import forwarding
from yilin.paging import page_schema

TAG = "activities"


forward = forwarding("activities", TAG)

forward(
    "POST",
    "/projects",
    "create_project",
    summary="Set up a project",
    body=ProjectIn,
    response=ProjectOut,
    status=201,
    roles=PUBLISHERS,
)

forward(
    "GET",
    "/projects",
    "list_projects",
    summary="List projects",
    query=ProjectQuery,
    response=page_schema(ProjectOut),
    roles=READERS,
)

forward(
    "GET",
    "/projects/<project_id>",
    "get_project",
    summary="A project with its indicators",
    response=ProjectOut,
    roles=READERS,
)

forward(
    "GET",
    "/projects/<project_id>/report",
    "project_report",
    summary="A project's indicators by month",
    query=PeriodQuery,
    response=ProjectReportOut,
    roles=REPORT_READERS,
)

forward(
    "POST",
    "/activities",
    "publish",
    summary="Publish an activity",
    body=ActivityIn,
    response=ActivityOut,
    status=201,
    roles=PUBLISHERS,
)

forward(
    "GET",
    "/activities",
    "list_activities",
    summary="List activities",
    query=ActivityQuery,
    response=page_schema(ActivityOut),
    roles=READERS,
)

forward(
    "GET",
    "/activities/reports/organisations",
    "organisation_report",
    summary="Activities and hours of an organisation or a group of organisations",
    query=OrganisationReportQuery,
    response=OrganisationReportOut,
    roles=REPORT_READERS,
)

forward(
    "GET",
    "/activities/reports/communities",
    "community_report",
    summary="Activities by community and month",
    query=CommunityReportQuery,
    response=CommunityReportOut,
    roles=REPORT_READERS,
)

forward(
    "GET",
    "/activities/reports/beneficiary-groups",
    "group_report",
    summary="Projects and what their activities achieved, by beneficiary group",
    query=PeriodQuery,
    response=GroupReportOut,
    roles=REPORT_READERS,
)

forward(
    "GET",
    "/activities/indicator-counts",
    "indicator_counts",
    summary="Projects, activities and beneficiary visits in a period",
    query=PeriodQuery,
    response=IndicatorCountsOut,
    roles=REPORT_READERS,
)

forward(
    "GET", "/activities/<activity_id>", "get_activity", summary="Get an activity", response=ActivityOut, roles=READERS
)

forward(
    "GET",
    "/activities/<activity_id>/sign-ups",
    "sign_ups",
    summary="An activity's sign-ups and waiting list",
    query=SignUpQuery,
    response=page_schema(SignUpOut),
    roles=READERS,
)


def _action(
    path: str, method: str, body: type[Schema] | None, response: type[Schema], summary: str, roles: tuple[str, ...]
) -> None:
    """An action on one activity: ``POST /activities/<activity_id>/<path>``."""
    forward(
        "POST", f"/activities/<activity_id>/{path}", method, summary=summary, body=body, response=response, roles=roles
    )


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

forward(
    "POST",
    "/commendations",
    "award_commendation",
    summary="Award a volunteer a commendation",
    body=CommendationIn,
    response=AwardOut,
    status=201,
    roles=COMMENDERS,
)
