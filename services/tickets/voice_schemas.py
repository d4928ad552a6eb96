"""Residents' voice payloads, defined once: suggestions, mediation cases, the reports by
topic, dispute and beneficiary group, and the service's indicator counts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.tickets.schemas import MonthPeriod
from services.tickets.voice_rules import (
    BENEFICIARY_GROUPS,
    LINK_KINDS,
    OUTCOMES,
    SUGGESTION_CHANNELS,
    SUGGESTION_STATES,
    TOPICS,
)
from yilin.paging import PageQuery
from yilin.pii import PHONE_NUMBER

PHONE = validate.Regexp(PHONE_NUMBER.pattern, error="11-digit mobile number")


# -- suggestions --------------------------------------------------------------------
class ResidentIn(Schema):
    resident_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 64),
        metadata={"description": "The resident's identity subject, when known; a resident's own online."},
    )
    name = fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"description": "Stored masked (张**)."}
    )
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)


class SuggestionIn(Schema):
    community_id = fields.UUID(required=True)
    topic = fields.String(required=True, validate=validate.OneOf(TOPICS))
    channel = fields.String(required=True, validate=validate.OneOf(SUGGESTION_CHANNELS))
    content = fields.String(
        required=True, validate=validate.Length(1, 2000), metadata={"description": "What the resident raised."}
    )
    resident = fields.Nested(ResidentIn, required=True)


class MergeIn(Schema):
    into_id = fields.UUID(required=True, metadata={"description": "The earlier suggestion this one repeats."})


class AnswerIn(Schema):
    answer = fields.String(required=True, validate=validate.Length(1, 2000))


class LinkIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(LINK_KINDS))
    target_id = fields.UUID(required=True, metadata={"description": "Id of the ticket, fund request or activity."})


class SuggestionTicketIn(Schema):
    category_code = fields.String(required=True, validate=validate.Length(1, 40))
    beneficiary_groups = fields.List(
        fields.String(validate=validate.OneOf(BENEFICIARY_GROUPS)), load_default=list, validate=validate.Length(max=4)
    )


class SuggestionResidentOut(Schema):
    resident_id = fields.String(allow_none=True)
    name = fields.String(required=True, metadata={"description": "Masked."})
    phone = fields.String(allow_none=True, metadata={"description": "Masked, e.g. 138****5678."})
    raised_in_id = fields.String(required=True)
    raised_at = fields.AwareDateTime(required=True)


class LinkOut(Schema):
    kind = fields.String(required=True)
    target_id = fields.String(required=True)
    linked_at = fields.AwareDateTime(required=True)


class SuggestionOut(Schema):
    id = fields.String(required=True)
    community_id = fields.String(required=True)
    topic = fields.String(required=True)
    channel = fields.String(required=True)
    content = fields.String(required=True)
    state = fields.String(required=True)
    collected_by = fields.String(required=True)
    merged_into_id = fields.String(allow_none=True)
    collected_at = fields.AwareDateTime(required=True)
    answer_due_at = fields.AwareDateTime(required=True)
    answered_at = fields.AwareDateTime(allow_none=True)
    answer = fields.String(allow_none=True)
    acted_at = fields.AwareDateTime(allow_none=True)
    escalated_at = fields.AwareDateTime(allow_none=True)
    residents = fields.List(fields.Nested(SuggestionResidentOut), required=True)
    links = fields.List(fields.Nested(LinkOut), required=True)


class SuggestionQuery(PageQuery):
    community_id = fields.UUID()
    topic = fields.String(validate=validate.OneOf(TOPICS))
    state = fields.String(validate=validate.OneOf(SUGGESTION_STATES))


class VoiceReportQuery(MonthPeriod):
    community_id = fields.UUID()


class SuggestionReportRow(Schema):
    community_id = fields.String(required=True)
    topic = fields.String(required=True)
    month = fields.String(required=True)
    collected = fields.Integer(required=True)
    residents = fields.Integer(required=True, metadata={"description": "Residents who raised the points."})
    merged = fields.Integer(required=True)
    answered = fields.Integer(required=True)
    answered_on_time = fields.Integer(required=True)
    acted_on = fields.Integer(required=True)
    median_hours_to_answer = fields.Integer(allow_none=True)


class SuggestionReportOut(Schema):
    items = fields.List(fields.Nested(SuggestionReportRow), required=True)


# -- mediation cases ----------------------------------------------------------------
class PartyIn(Schema):
    name = fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"description": "Stored masked (张**)."}
    )
    people = fields.Integer(
        load_default=1,
        strict=True,
        validate=validate.Range(1, 100_000),
        metadata={"description": "Residents this party speaks for (a group dispute's side)."},
    )


class CaseIn(Schema):
    community_id = fields.UUID(required=True)
    social_worker_id = fields.UUID(required=True, metadata={"description": "The mediating social worker (registry)."})
    summary = fields.String(required=True, validate=validate.Length(1, 500))
    ticket_id = fields.UUID(load_default=None, allow_none=True, metadata={"description": "The dispute ticket."})
    parties = fields.List(fields.Nested(PartyIn), required=True, validate=validate.Length(2, 50))


class SessionIn(Schema):
    held_at = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(1, 24 * 60))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 500))


class PartyRatingIn(Schema):
    party = fields.Integer(required=True, strict=True, validate=validate.Range(1, 50))
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))


class CloseIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    satisfaction = fields.List(
        fields.Nested(PartyRatingIn),
        required=True,
        validate=validate.Length(max=50),
        metadata={"description": "Each party's satisfaction (1 to 5) at close."},
    )


class PartyOut(Schema):
    number = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "Masked."})
    people = fields.Integer(required=True)
    rating = fields.Integer(allow_none=True)


class SessionOut(Schema):
    held_at = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True)
    note = fields.String(allow_none=True)


class CaseOut(Schema):
    id = fields.String(required=True)
    community_id = fields.String(required=True)
    street_id = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    social_worker_id = fields.String(required=True)
    summary = fields.String(required=True)
    state = fields.String(required=True)
    outcome = fields.String(allow_none=True)
    opened_at = fields.AwareDateTime(required=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    parties = fields.List(fields.Nested(PartyOut), required=True)
    sessions = fields.List(fields.Nested(SessionOut), required=True)
    satisfaction_rate = fields.Float(allow_none=True)


class DisputeReportQuery(MonthPeriod):
    street_id = fields.UUID()


class DisputeReportRow(Schema):
    street_id = fields.String(allow_none=True)
    month = fields.String(required=True)
    cases = fields.Integer(required=True, metadata={"description": "Cases closed in the month."})
    people = fields.Integer(required=True)
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    satisfaction_rate = fields.Float(allow_none=True)


class DisputeReportOut(Schema):
    items = fields.List(fields.Nested(DisputeReportRow), required=True)


# -- beneficiary groups -------------------------------------------------------------
class GroupReportRow(Schema):
    group = fields.String(required=True)
    month = fields.String(required=True)
    services = fields.Integer(required=True, metadata={"description": "Tickets for the group, cancelled excluded."})
    completed = fields.Integer(required=True, metadata={"description": "Of those, resolved or closed."})
    reach = fields.Integer(required=True, metadata={"description": "Distinct residents served."})


class GroupReportOut(Schema):
    items = fields.List(fields.Nested(GroupReportRow), required=True)
