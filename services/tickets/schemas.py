"""Every tickets payload, defined once: RPC arguments, HTTP bodies, responses and the
OpenAPI document all come from these schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.tickets.rules import STATES
from services.tickets.voice_rules import BENEFICIARY_GROUPS
from yilin.fields import StrictBoolean
from yilin.paging import PageQuery
from yilin.pii import PHONE_NUMBER

CHANNELS = ("resident_online", "hotline", "door_to_door", "suggestion_box")
FIELD_TYPES = ("string", "number", "datetime", "single_choice", "multi_choice")
CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="lower-case code, e.g. blocked_drain")
# Years 1900-2099: the report turns a month into datetimes, which year 0 or 9999-12's
# following month would overflow (a 500 the fuzzer found).
MONTH = validate.Regexp(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", error="a month as YYYY-MM, years 1900 to 2099")
MAX_SLA_MINUTES = 60 * 24 * 90


# -- categories ---------------------------------------------------------------------
class CategoryField(Schema):
    """One typed extra question of a category (an Open311 service-definition attribute)."""

    code = fields.String(required=True, validate=CODE)
    label = fields.String(required=True, validate=validate.Length(1, 120))
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = StrictBoolean(load_default=False)
    choices = fields.List(
        fields.String(validate=validate.Length(1, 60)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=50),
    )

    @validates_schema
    def _choices(self, data: dict[str, Any], **_: Any) -> None:
        choice = data["type"] in ("single_choice", "multi_choice")
        if choice and not data.get("choices"):
            raise ValidationError("a choice field needs its choices", "choices")
        if not choice and data.get("choices"):
            raise ValidationError(f"a {data['type']} field takes no choices", "choices")


def _unique_field_codes(items: list[dict[str, Any]]) -> None:
    codes = [f["code"] for f in items]
    if len(codes) != len(set(codes)):
        raise ValidationError("field codes must be unique")


class CategoryIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    skill = fields.String(
        required=True,
        validate=CODE,
        metadata={"description": "Skill or professional domain a team needs (registry code)."},
    )
    assign_minutes = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(1, MAX_SLA_MINUTES),
        metadata={"description": "SLA: minutes from report to assignment."},
    )
    resolve_minutes = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(1, MAX_SLA_MINUTES),
        metadata={"description": "SLA: minutes from report to resolution."},
    )
    max_credit_minutes = fields.Integer(
        load_default=480,
        strict=True,
        validate=validate.Range(1, 24 * 60),
        metadata={"description": "The most minutes one volunteer may be credited for one ticket of this category."},
    )
    needs_social_worker = StrictBoolean(load_default=False)
    dispute = StrictBoolean(load_default=False, metadata={"description": "Disputes go to a social worker at once."})
    fields_ = fields.List(
        fields.Nested(CategoryField),
        data_key="fields",
        attribute="fields",
        load_default=list,
        validate=[validate.Length(max=30), _unique_field_codes],
    )

    @validates_schema
    def _sla(self, data: dict[str, Any], **_: Any) -> None:
        if data["resolve_minutes"] < data["assign_minutes"]:
            raise ValidationError("cannot be shorter than assign_minutes", "resolve_minutes")


class CategoryPatch(Schema):
    name = fields.String(validate=validate.Length(1, 120))
    skill = fields.String(validate=CODE)
    assign_minutes = fields.Integer(strict=True, validate=validate.Range(1, MAX_SLA_MINUTES))
    resolve_minutes = fields.Integer(strict=True, validate=validate.Range(1, MAX_SLA_MINUTES))
    max_credit_minutes = fields.Integer(strict=True, validate=validate.Range(1, 24 * 60))
    needs_social_worker = StrictBoolean()
    dispute = StrictBoolean()
    fields_ = fields.List(
        fields.Nested(CategoryField),
        data_key="fields",
        attribute="fields",
        validate=[validate.Length(max=30), _unique_field_codes],
    )
    active = StrictBoolean()


class CategoryOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    skill = fields.String(required=True)
    assign_minutes = fields.Integer(required=True)
    resolve_minutes = fields.Integer(required=True)
    max_credit_minutes = fields.Integer(required=True)
    needs_social_worker = fields.Boolean(required=True)
    dispute = fields.Boolean(required=True)
    fields_ = fields.List(fields.Nested(CategoryField), data_key="fields", attribute="fields", required=True)
    active = fields.Boolean(required=True)


class CategoryQuery(PageQuery):
    active = fields.Boolean()


# -- tickets ------------------------------------------------------------------------
class TicketIn(Schema):
    category_code = fields.String(required=True, validate=CODE)
    community_id = fields.UUID(required=True)
    grid_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "The grid (微网格) of the community the need is in; checked with the registry."},
    )
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    resident_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 64),
        metadata={"description": "The resident's identity subject; a resident's own when they open it."},
    )
    resident_name = fields.String(required=True, validate=validate.Length(1, 100))
    resident_phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(PHONE_NUMBER.pattern, error="11-digit mobile number"),
    )
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 200))
    description = fields.String(required=True, validate=validate.Length(1, 2000))
    attributes = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={"description": "Answers to the category's extra fields, by field code."},
    )
    reported_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        default_timezone=None,
        metadata={
            "description": "When the resident raised the need (a call, a visit); "
            "defaults to now. SLA deadlines count from it."
        },
    )
    beneficiary_groups = fields.List(
        fields.String(validate=validate.OneOf(BENEFICIARY_GROUPS)),
        load_default=list,
        validate=validate.Length(max=len(BENEFICIARY_GROUPS)),
        metadata={"description": "Groups the person served belongs to: " + ", ".join(BENEFICIARY_GROUPS) + "."},
    )


class ResidentOut(Schema):
    id = fields.String(allow_none=True)
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, metadata={"description": "Masked, e.g. 138****5678."})
    address = fields.String(allow_none=True)


class VolunteerMinutesOut(Schema):
    volunteer_id = fields.String(required=True)
    minutes = fields.Integer(allow_none=True)


class SocialWorkerRef(Schema):
    volunteer_id = fields.String(required=True)
    name = fields.String(required=True)


class TicketOut(Schema):
    id = fields.String(required=True)
    community_id = fields.String(required=True)
    category_code = fields.String(required=True)
    state = fields.String(required=True)
    allowed_actions = fields.List(fields.String(), required=True)
    channel = fields.String(required=True)
    recorded_by = fields.String(required=True)
    resident = fields.Nested(ResidentOut, required=True)
    description = fields.String(required=True)
    attributes = fields.Dict(required=True)
    needs_social_worker = fields.Boolean(required=True)
    grid_id = fields.String(allow_none=True)
    beneficiary_groups = fields.List(fields.String(), required=True)
    team_id = fields.String(allow_none=True)
    partner_id = fields.String(allow_none=True, metadata={"description": "The partner organisation doing the work."})
    social_worker = fields.Nested(
        SocialWorkerRef,
        allow_none=True,
        metadata={"description": "The certified social worker named when the ticket was escalated."},
    )
    volunteers = fields.List(fields.Nested(VolunteerMinutesOut), required=True)
    reported_at = fields.DateTime(required=True)
    assign_due_at = fields.DateTime(required=True)
    resolve_due_at = fields.DateTime(required=True)
    assigned_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    escalated_at = fields.DateTime(allow_none=True)
    escalation_reason = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    auto_confirmed = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class TicketQuery(PageQuery):
    state = fields.String(validate=validate.OneOf(STATES))
    community_id = fields.UUID()
    category_code = fields.String(validate=CODE)
    team_id = fields.UUID()
    partner_id = fields.UUID()
    grid_id = fields.UUID()
    resident_id = fields.String(validate=validate.Length(1, 64))


class TransitionOut(Schema):
    action = fields.String(required=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(required=True)
    actor = fields.String(required=True)
    actor_role = fields.String(required=True)
    note = fields.String(allow_none=True)
    at = fields.DateTime(required=True)


class HistoryOut(Schema):
    items = fields.List(fields.Nested(TransitionOut), required=True)


class NoteIn(Schema):
    """Body of the transitions that take only a note (start, escalate, reopen, cancel)."""

    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 500))


class AssignIn(NoteIn):
    team_id = fields.UUID(load_default=None, allow_none=True, metadata={"description": "A volunteer team; or:"})
    partner_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "A partner organisation (social enterprise, community partner, property manager) doing "
            "the work as its own, paid or in kind: it earns no volunteer hours; volunteers named "
            "with it do."
        },
    )
    volunteer_ids = fields.List(
        fields.UUID(),
        load_default=list,
        validate=validate.Length(0, 20),
        metadata={
            "description": "Volunteers named on the ticket: members of the team (at least one), or any active "
            "volunteers working with the partner."
        },
    )

    @validates_schema
    def _distinct(self, data: dict[str, Any], **_: Any) -> None:
        if len(set(data["volunteer_ids"])) != len(data["volunteer_ids"]):
            raise ValidationError("each volunteer once", "volunteer_ids")
        if (data.get("team_id") is None) == (data.get("partner_id") is None):
            raise ValidationError("give a team_id or a partner_id, not both", "team_id")
        if data.get("team_id") is not None and not data["volunteer_ids"]:
            raise ValidationError("name at least one of the team's volunteers", "volunteer_ids")


class ServedIn(Schema):
    volunteer_id = fields.UUID(required=True)
    # The hour ledger credits a ticket's time to the day it was resolved, at most a day's worth.
    minutes = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=24 * 60, error="must be 1 to 1440 (one day)"),
        metadata={"description": "Minutes actually served, travel excluded; at most 1440."},
    )


class ResolveIn(NoteIn):
    volunteers = fields.List(
        fields.Nested(ServedIn),
        required=True,
        validate=validate.Length(0, 20),
        metadata={"description": "Each named volunteer who served; empty only for a partner's own work."},
    )

    @validates_schema
    def _distinct(self, data: dict[str, Any], **_: Any) -> None:
        ids = [v["volunteer_id"] for v in data["volunteers"]]
        if len(set(ids)) != len(ids):
            raise ValidationError("each volunteer once", "volunteers")


class ConfirmIn(Schema):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5, error="must be 1 to 5"))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 500))


class TeamSuggestion(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("team", "partner")))
    team_id = fields.String(allow_none=True)
    partner_id = fields.String(allow_none=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    professional = fields.Boolean(required=True)
    member_count = fields.Integer(required=True)
    coverage = fields.String(
        required=True,
        metadata={"description": "home (based in the community), covers (declares it) or district (serves all)."},
    )
    open_tickets = fields.Integer(required=True, metadata={"description": "The team's current open load."})
    score = fields.Integer(required=True, metadata={"description": "Points: higher ranks first."})
    reasons = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "One line per criterion: skill, coverage, load, SLA history, with its points."},
    )


class SuggestionsOut(Schema):
    skill = fields.String(required=True)
    items = fields.List(fields.Nested(TeamSuggestion), required=True)


# -- reports ------------------------------------------------------------------------
class MonthPeriod(Schema):
    """A report's period in whole months, both ends optional and included."""

    from_month = fields.String(validate=MONTH)
    to_month = fields.String(validate=MONTH)


class ReportQuery(Schema):
    community_id = fields.UUID()
    grid_id = fields.UUID()
    by = fields.String(
        load_default="community",
        validate=validate.OneOf(("community", "grid")),
        metadata={"description": "Roll up by community (default) or by grid within it."},
    )
    category_code = fields.String(validate=CODE)
    from_month = fields.String(validate=MONTH, data_key="from")
    to_month = fields.String(validate=MONTH, data_key="to")


class ReportRow(Schema):
    community_id = fields.String(required=True)
    grid_id = fields.String(allow_none=True, metadata={"description": "With by=grid: the grid (null: none given)."})
    category_code = fields.String(required=True)
    month = fields.String(required=True, metadata={"description": "YYYY-MM of the report time (UTC)."})
    total = fields.Integer(required=True)
    by_state = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    median_minutes_to_assign = fields.Integer(allow_none=True)
    median_minutes_to_resolve = fields.Integer(allow_none=True)
    sla_breach_rate = fields.Float(
        allow_none=True, metadata={"description": "Share of tickets that missed a deadline."}
    )
    mean_rating = fields.Float(allow_none=True)
    share_satisfied = fields.Float(allow_none=True, metadata={"description": "Share of ratings ≥ 4."})
    ratings = fields.Integer(required=True)


class ReportOut(Schema):
    items = fields.List(fields.Nested(ReportRow), required=True)
