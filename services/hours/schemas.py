"""Every hours payload, defined once: RPC arguments, HTTP bodies, responses and the
OpenAPI document all come from these schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.hours.rules import DAY_MINUTES, clock_minutes
from yilin.fields import StrictBoolean
from yilin.paging import PageQuery

CLOCK = validate.Regexp(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", error="a time of day as HH:MM")
ENTRY_STATUSES = ("pending", "verified", "rejected", "void", "corrected", "requested")
SOURCES = ("ticket", "activity", "attendance", "correction")
REJECT_CODES = ("not_served", "wrong_minutes", "travel_time", "duplicate", "wrong_volunteer", "other")
GROUPINGS = ("volunteer", "team", "community", "organisation")
MINUTES = fields.Integer(
    strict=True,
    validate=validate.Range(1, DAY_MINUTES),
    metadata={"description": "Minutes actually served (travel excluded), 1 to 1440."},
)


def _check_interval(data: dict[str, Any], minutes_required: bool) -> None:
    """Either ``minutes`` or both ``start_time`` and ``end_time`` (end after start); if
    all three are given they must agree."""
    start, end, minutes = data.get("start_time"), data.get("end_time"), data.get("minutes")
    if (start is None) != (end is None):
        missing = "end_time" if end is None else "start_time"
        raise ValidationError("give both start_time and end_time", missing)
    if start is not None:
        span = clock_minutes(end) - clock_minutes(start)
        if span <= 0:
            raise ValidationError("must be after start_time", "end_time")
        if minutes is not None and minutes != span:
            raise ValidationError(f"does not match start_time–end_time ({span} minutes)", "minutes")
    elif minutes is None and minutes_required:
        raise ValidationError("give minutes or start_time and end_time", "minutes")


class SheetLineIn(Schema):
    volunteer_id = fields.UUID(required=True)
    start_time = fields.String(validate=CLOCK, metadata={"description": "Local time the volunteer started, HH:MM."})
    end_time = fields.String(validate=CLOCK, metadata={"description": "Local time the volunteer finished, HH:MM."})
    minutes = MINUTES

    @validates_schema
    def _interval(self, data: dict[str, Any], **_: Any) -> None:
        _check_interval(data, minutes_required=True)


class SheetIn(Schema):
    """An attendance sheet: one activity on one day, with each volunteer's time."""

    organisation_id = fields.UUID(required=True, metadata={"description": "The organising (recording) organisation."})
    activity = fields.String(required=True, validate=validate.Length(1, 200))
    served_on = fields.Date(required=True)
    place = fields.String(required=True, validate=validate.Length(1, 200))
    community_id = fields.UUID(required=True)
    content = fields.String(
        required=True, validate=validate.Length(1, 2000), metadata={"description": "Service content."}
    )
    entries = fields.List(fields.Nested(SheetLineIn), required=True, validate=validate.Length(1, 500))


class RejectIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    reason_code = fields.String(load_default="other", validate=validate.OneOf(REJECT_CODES))


class CorrectionIn(Schema):
    """The corrected time of a verified entry, and why."""

    minutes = MINUTES
    start_time = fields.String(validate=CLOCK)
    end_time = fields.String(validate=CLOCK)
    reason = fields.String(required=True, validate=validate.Length(1, 500))

    @validates_schema
    def _interval(self, data: dict[str, Any], **_: Any) -> None:
        _check_interval(data, minutes_required=True)


class SelectionIn(Schema):
    selected = StrictBoolean(required=True, metadata={"description": "Selected by the organisation (needed for 5★)."})


class SelectionOut(Schema):
    volunteer_id = fields.String(required=True)
    selected = fields.Boolean(required=True, metadata={"description": "Selected by the organisation (needed for 5★)."})


class EntryOut(Schema):
    id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    source = fields.String(required=True)
    source_id = fields.String(required=True)
    organisation_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    community_id = fields.String(allow_none=True)
    served_on = fields.Date(required=True)
    start_time = fields.String(allow_none=True)
    end_time = fields.String(allow_none=True)
    minutes = fields.Integer(required=True)
    content = fields.String(required=True)
    status = fields.String(required=True)
    corrects_id = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    reason_code = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class EntryQuery(PageQuery):
    volunteer_id = fields.UUID()
    organisation_id = fields.UUID()
    source = fields.String(validate=validate.OneOf(SOURCES))
    source_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(ENTRY_STATUSES))


class SheetOut(Schema):
    id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    activity = fields.String(required=True)
    served_on = fields.Date(required=True)
    place = fields.String(required=True)
    community_id = fields.String(required=True)
    content = fields.String(required=True)
    submitted_by = fields.String(required=True)
    entries = fields.List(fields.Nested(EntryOut), required=True)


class PeriodQuery(Schema):
    period_from = fields.Date(data_key="from", load_default=None, allow_none=True)
    period_to = fields.Date(data_key="to", load_default=None, allow_none=True)

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("period_from") and data.get("period_to") and data["period_to"] < data["period_from"]:
            raise ValidationError("must not be before from", "to")


class VolunteerTotalOut(Schema):
    volunteer_id = fields.String(required=True)
    verified_minutes = fields.Integer(required=True)
    pending_minutes = fields.Integer(required=True, metadata={"description": "All time; not period-filtered."})
    star_level = fields.Integer(required=True)
    selected = fields.Boolean(required=True)
    period_from = fields.Date(data_key="from", allow_none=True)
    period_to = fields.Date(data_key="to", allow_none=True)


class LeaderboardQuery(PeriodQuery):
    by = fields.String(load_default="volunteer", validate=validate.OneOf(GROUPINGS))
    community_id = fields.UUID(metadata={"description": "Only volunteers living in this community."})
    organisation_id = fields.UUID(metadata={"description": "Only hours this organisation recorded."})
    team_id = fields.UUID(metadata={"description": "Only current members of this team."})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 200))


class RankOut(Schema):
    rank = fields.Integer(required=True)
    id = fields.String(
        required=True, allow_none=True, metadata={"description": "Volunteer, team, community or organisation id."}
    )
    verified_minutes = fields.Integer(required=True)
    volunteers = fields.Integer(required=True, metadata={"description": "Volunteers with verified time in the group."})


class LeaderboardOut(Schema):
    by = fields.String(required=True)
    period_from = fields.Date(data_key="from", allow_none=True)
    period_to = fields.Date(data_key="to", allow_none=True)
    items = fields.List(fields.Nested(RankOut), required=True)


class CertificateIn(Schema):
    volunteer_id = fields.UUID(required=True)
    organisation_id = fields.UUID(
        required=True, metadata={"description": "Issuing organisation: it certifies the hours it recorded."}
    )
    period_from = fields.Date(required=True, data_key="from")
    period_to = fields.Date(required=True, data_key="to")
    person_in_charge = fields.String(required=True, validate=validate.Length(1, 50))
    contact = fields.String(required=True, validate=validate.Length(1, 50))

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data["period_to"] < data["period_from"]:
            raise ValidationError("must not be before from", "to")


class CertificateOut(Schema):
    id = fields.String(required=True)
    number = fields.String(
        required=True, metadata={"description": "Certificate number; ends in an HMAC of the content."}
    )
    volunteer_id = fields.String(required=True)
    volunteer_name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "Masked ID number."})
    volunteer_number = fields.String(required=True)
    organisation_id = fields.String(required=True)
    organisation_name = fields.String(required=True)
    person_in_charge = fields.String(required=True)
    contact = fields.String(required=True)
    period_from = fields.Date(required=True, data_key="from")
    period_to = fields.Date(required=True, data_key="to")
    minutes = fields.Integer(required=True)
    hours = fields.String(required=True, metadata={"description": "Minutes as hours with one decimal, e.g. 12.5."})
    service_content = fields.List(fields.String(), required=True)
    issued_on = fields.Date(required=True)


class CertificateCheckQuery(Schema):
    """A certificate number and, optionally, what the paper in hand says."""

    number = fields.String(required=True, validate=validate.Length(1, 64))
    volunteer_number = fields.String(validate=validate.Length(1, 20))
    minutes = fields.Integer(validate=validate.Range(0))
    period_from = fields.Date(data_key="from")
    period_to = fields.Date(data_key="to")


class CertificateCheckView(Schema):
    """What anyone holding a certificate number may see: enough to compare with the paper,
    nothing of the volunteer (no id, name, ID number or number) or of the person in charge."""

    number = fields.String(required=True)
    period_from = fields.Date(required=True, data_key="from")
    period_to = fields.Date(required=True, data_key="to")
    minutes = fields.Integer(required=True)
    hours = fields.String(required=True, metadata={"description": "Minutes as hours with one decimal, e.g. 12.5."})
    service_content = fields.List(fields.String(), required=True)
    organisation_name = fields.String(required=True)
    issued_on = fields.Date(required=True)


class CertificateCheckOut(Schema):
    valid = fields.Boolean(required=True)
    certificate = fields.Nested(CertificateCheckView, required=True)


class PdfOut(Schema):
    filename = fields.String(required=True)
    pdf_base64 = fields.String(required=True)


class RecordQuery(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class PersonalOut(Schema):
    volunteer_id = fields.String(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "Masked."})
    volunteer_number = fields.String(required=True)
    community_id = fields.String(allow_none=True)
    team_ids = fields.List(fields.String(), required=True)


class ServiceRecordOut(Schema):
    entry_id = fields.String(required=True)
    served_on = fields.Date(required=True)
    content = fields.String(required=True)
    source = fields.String(required=True)
    organisation_id = fields.String(allow_none=True)
    community_id = fields.String(allow_none=True)
    start_time = fields.String(allow_none=True)
    end_time = fields.String(allow_none=True)
    minutes = fields.Integer(required=True)
    verified_at = fields.DateTime(allow_none=True)


class TrainingOut(Schema):
    kind = fields.String(
        required=True, metadata={"description": "training (a session attended), or a certification's kind."}
    )
    number = fields.String(allow_none=True, metadata={"description": "A certification's number."})
    issued_on = fields.Date(allow_none=True, metadata={"description": "Date of the session or certification."})
    title = fields.String(allow_none=True, metadata={"description": "A training session's title."})
    organisation_id = fields.String(allow_none=True, metadata={"description": "Who gave the training."})
    minutes = fields.Integer(allow_none=True, metadata={"description": "Minutes of training attended."})


class CommendationOut(Schema):
    kind = fields.String(required=True, metadata={"description": "commendation (awarded) or star_level."})
    level = fields.Integer(allow_none=True, metadata={"description": "The star level reached; null for an award."})
    at = fields.DateTime(required=True)
    title = fields.String(allow_none=True, metadata={"description": "An award's title, e.g. 优秀志愿者."})
    award_level = fields.String(allow_none=True, metadata={"description": "An award's level, e.g. district."})
    awarding_body = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True, metadata={"description": "The awarding organisation."})


class EvaluationOut(Schema):
    verified_minutes = fields.Integer(required=True)
    star_level = fields.Integer(required=True)
    ratings = fields.Integer(required=True, metadata={"description": "Residents' ratings of served tickets."})
    average_rating = fields.Decimal(as_string=True, allow_none=True, places=2)


class VolunteerRecordOut(Schema):
    """A volunteer's record in the national structure (志愿服务记录)."""

    personal = fields.Nested(PersonalOut, required=True)
    service = fields.List(fields.Nested(ServiceRecordOut), required=True)
    training = fields.List(fields.Nested(TrainingOut), required=True)
    commendations = fields.List(fields.Nested(CommendationOut), required=True)
    evaluation = fields.Nested(EvaluationOut, required=True)


class CsvOut(Schema):
    filename = fields.String(required=True)
    csv = fields.String(required=True)
