"""Every activities payload, defined once: RPC arguments, HTTP bodies, responses and the
OpenAPI document all come from these schemas."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.activities.events import KINDS
from yilin.fields import UtcDateTime
from yilin.paging import PageQuery

CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="lower-case code, e.g. child_care")
SIGN_UP_STATES = ("confirmed", "waiting", "cancelled", "no_show")
LEVELS = ("national", "province", "city", "district", "street", "community", "organisation")
# Years 2000-2099: times are moved to the district's clock and days to their ends, which
# the first and last representable instants would overflow.
INSTANT = validate.Range(
    min=datetime(2000, 1, 1, tzinfo=timezone.utc),
    max=datetime(2099, 12, 31, tzinfo=timezone.utc),
    error="between 2000 and 2099",
)
DAY = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31), error="between 2000 and 2099")


def _period_order(data: dict[str, Any], first: str, last: str) -> None:
    if data.get(first) and data.get(last) and data[last] < data[first]:
        raise ValidationError(f"must not be before {first}", last)


# -- projects ---------------------------------------------------------------------------
class ProjectIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    agency_id = fields.UUID(required=True, metadata={"description": "The leading social-work agency."})
    organisation_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=50))
    team_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=50))
    service_domain = fields.String(required=True, validate=CODE)
    community_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(1, 100))
    beneficiary_groups = fields.List(fields.String(validate=CODE), required=True, validate=validate.Length(1, 20))
    starts_on = fields.Date(required=True, validate=DAY)
    ends_on = fields.Date(required=True, validate=DAY)
    disbursement_id = fields.UUID(load_default=None, allow_none=True)

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        _period_order(data, "starts_on", "ends_on")
        if not data.get("organisation_ids") and not data.get("team_ids"):
            raise ValidationError("a project has at least one volunteer organisation or team", "organisation_ids")


class IndicatorsOut(Schema):
    activities = fields.Integer(required=True, metadata={"description": "Activities held (closed)."})
    beneficiary_visits = fields.Integer(required=True)
    volunteers = fields.Integer(required=True, metadata={"description": "Distinct volunteers who attended."})
    attended_minutes = fields.Integer(
        required=True,
        metadata={"description": "Minutes attendees were credited when the activities closed, verified or not."},
    )
    verified_minutes = fields.Integer(required=True, metadata={"description": "Verified volunteer minutes."})


class ProjectOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    agency_id = fields.String(required=True)
    organisation_ids = fields.List(fields.String(), required=True)
    team_ids = fields.List(fields.String(), required=True)
    service_domain = fields.String(required=True)
    community_ids = fields.List(fields.String(), required=True)
    beneficiary_groups = fields.List(fields.String(), required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    disbursement_id = fields.String(allow_none=True)
    indicators = fields.Nested(IndicatorsOut, required=True)


class ProjectQuery(PageQuery):
    community_id = fields.UUID(load_default=None)
    agency_id = fields.UUID(load_default=None)


# -- activities -------------------------------------------------------------------------
class ActivityIn(Schema):
    organisation_id = fields.UUID(required=True)
    project_id = fields.UUID(load_default=None, allow_none=True)
    kind = fields.String(load_default="service", validate=validate.OneOf(KINDS))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    place = fields.String(required=True, validate=validate.Length(1, 200))
    community_id = fields.UUID(required=True)
    grid_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "The grid (微网格) of the community it takes place in; checked with the registry."},
    )
    starts_at = fields.AwareDateTime(required=True, validate=INSTANT)
    ends_at = fields.AwareDateTime(required=True, validate=INSTANT)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10000))
    required_skills = fields.List(fields.String(validate=CODE), load_default=list, validate=validate.Length(max=20))
    open_to = fields.List(
        fields.String(validate=validate.OneOf(("volunteer", "team_lead", "social_worker"))),
        load_default=None,
        validate=validate.Length(1, 3),
        metadata={"description": "Roles that may sign up; default volunteers, team leads and social workers."},
    )


class ActivityOut(Schema):
    id = fields.String(required=True)
    project_id = fields.String(allow_none=True)
    organisation_id = fields.String(required=True)
    organiser = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    place = fields.String(required=True)
    community_id = fields.String(required=True)
    grid_id = fields.String(allow_none=True)
    starts_at = UtcDateTime(required=True)
    ends_at = UtcDateTime(required=True)
    capacity = fields.Integer(required=True)
    required_skills = fields.List(fields.String(), required=True)
    open_to = fields.List(fields.String(), required=True)
    state = fields.String(required=True)
    confirmed = fields.Integer(required=True)
    waiting = fields.Integer(required=True)
    beneficiary_visits = fields.Integer(required=True)
    closed_at = UtcDateTime(allow_none=True)


class ActivityQuery(PageQuery):
    project_id = fields.UUID(load_default=None)
    organisation_id = fields.UUID(load_default=None)
    community_id = fields.UUID(load_default=None)
    grid_id = fields.UUID(load_default=None)
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    state = fields.String(load_default=None, validate=validate.OneOf(("published", "closed")))


class SignUpIn(Schema):
    volunteer_id = fields.UUID(required=True)


class SignUpOut(Schema):
    id = fields.String(required=True)
    activity_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(SIGN_UP_STATES))
    position = fields.Integer(required=True)
    checked_in_at = UtcDateTime(allow_none=True)
    checked_out_at = UtcDateTime(allow_none=True)
    minutes = fields.Integer(allow_none=True)


class SignUpQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(SIGN_UP_STATES))


class CheckIn(Schema):
    volunteer_id = fields.UUID(required=True)
    at = fields.AwareDateTime(load_default=None, validate=INSTANT, metadata={"description": "When; default now."})


class CodeCheckIn(Schema):
    volunteer_id = fields.UUID(required=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="six digits"))


class CodeOut(Schema):
    code = fields.String(required=True)
    expires_at = UtcDateTime(required=True)


class CloseIn(Schema):
    beneficiary_visits = fields.Integer(
        required=True, strict=True, validate=validate.Range(0, 100000), metadata={"description": "A count; no names."}
    )


# -- past activities, in bulk ------------------------------------------------------------
class HistoryAttendee(Schema):
    volunteer_id = fields.UUID(required=True)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(1, 24 * 60))


class HistoryRow(Schema):
    """A closed activity of the past with its attendance (an organisation's record)."""

    id = fields.UUID(required=True, metadata={"description": "The activity's id, fixed by the importer."})
    organisation_id = fields.UUID(required=True)
    kind = fields.String(load_default="service", validate=validate.OneOf(("service",)))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    place = fields.String(required=True, validate=validate.Length(1, 200))
    community_id = fields.UUID(required=True)
    starts_at = fields.AwareDateTime(required=True, validate=INSTANT)
    ends_at = fields.AwareDateTime(required=True, validate=INSTANT)
    beneficiary_visits = fields.Integer(load_default=0, strict=True, validate=validate.Range(0, 100000))
    attendees = fields.List(fields.Nested(HistoryAttendee), required=True, validate=validate.Length(max=1000))

    @validates_schema
    def _distinct(self, data: dict[str, Any], **_: Any) -> None:
        volunteers = [a["volunteer_id"] for a in data.get("attendees", [])]
        if len(set(volunteers)) != len(volunteers):
            raise ValidationError("a volunteer attends an activity once", "attendees")


class HistoryResult(Schema):
    created = fields.Integer(required=True)
    duplicates = fields.Integer(required=True, metadata={"description": "Rows whose id was already stored."})
    rejected = fields.List(fields.Dict(), required=True, metadata={"description": "Row index and field errors."})


# -- commendations ------------------------------------------------------------------------
class CommendationIn(Schema):
    volunteer_id = fields.UUID(required=True)
    organisation_id = fields.UUID(required=True)
    title = fields.String(required=True, validate=validate.Length(1, 200))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    awarded_on = fields.Date(required=True, validate=DAY)
    awarding_body = fields.String(required=True, validate=validate.Length(1, 200))


class AwardOut(Schema):
    id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    title = fields.String(required=True)
    level = fields.String(required=True)
    awarded_on = fields.Date(required=True)
    awarding_body = fields.String(required=True)


# -- reports ------------------------------------------------------------------------------
class PeriodQuery(Schema):
    period_from = fields.Date(data_key="from", load_default=None, allow_none=True, validate=DAY)
    period_to = fields.Date(data_key="to", load_default=None, allow_none=True, validate=DAY)

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        _period_order(data, "period_from", "period_to")


UUID_LIST = validate.Regexp(
    r"^[0-9a-fA-F-]{36}(,[0-9a-fA-F-]{36}){0,199}$", error="one to 200 organisation ids (UUID), comma-separated"
)


class OrganisationReportQuery(PeriodQuery):
    organisation_ids = fields.String(
        required=True,
        validate=UUID_LIST,
        metadata={"description": "An organisation, or a group (a university alliance): ids separated by commas."},
    )

    @post_load
    def _split(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["organisation_ids"] = data["organisation_ids"].split(",")
        return data


class MonthRow(IndicatorsOut):
    month = fields.String(required=True)


class ProjectReportOut(Schema):
    project_id = fields.String(required=True)
    indicators = fields.Nested(IndicatorsOut, required=True)
    months = fields.List(fields.Nested(MonthRow), required=True)


class OrganisationReportOut(Schema):
    organisation_ids = fields.List(fields.String(), required=True)
    indicators = fields.Nested(IndicatorsOut, required=True)
    months = fields.List(fields.Nested(MonthRow), required=True)


class CommunityReportQuery(PeriodQuery):
    community_id = fields.UUID(load_default=None)
    by = fields.String(
        load_default="community",
        validate=validate.OneOf(("community", "grid")),
        metadata={"description": "Roll up by community (default) or by grid within it."},
    )


class CommunityMonthRow(MonthRow):
    community_id = fields.String(required=True)
    grid_id = fields.String(allow_none=True, metadata={"description": "With by=grid: the grid (null: none given)."})


class CommunityReportOut(Schema):
    items = fields.List(fields.Nested(CommunityMonthRow), required=True)


class GroupRow(IndicatorsOut):
    beneficiary_group = fields.String(required=True)
    projects = fields.Integer(required=True)


class GroupReportOut(Schema):
    items = fields.List(fields.Nested(GroupRow), required=True)


class IndicatorCountsOut(Schema):
    projects = fields.Integer(required=True, metadata={"description": "Projects running in the period."})
    activities = fields.Integer(required=True, metadata={"description": "Activities held in the period."})
    beneficiary_visits = fields.Integer(required=True)
