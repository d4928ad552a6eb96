"""What this service reads from other services' events: tolerant schemas (unknown
fields ignored) of just the fields it uses. A payload that fails them is a broken
producer: the handler raises, the broker retries and then dead-letters it."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from yilin.events import schema_instance
from yilin.flatschema import compiled_load


class _Tolerant(Schema):
    class Meta:
        unknown = EXCLUDE


class TicketVolunteer(_Tolerant):
    volunteer_id = fields.String(required=True, validate=validate.Length(1, 36))
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(1, 24 * 60))


class TicketResolved(_Tolerant):
    ticket_id = fields.String(required=True, validate=validate.Length(1, 36))
    community_id = fields.String(required=True)
    category_code = fields.String(required=True)
    team_id = fields.String(load_default=None, allow_none=True)
    resolved_at = fields.String(required=True, validate=validate.Length(10, 40))
    volunteers = fields.List(fields.Nested(TicketVolunteer), required=True)


class TicketConfirmed(_Tolerant):
    ticket_id = fields.String(required=True)
    rating = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 5))
    automatic = fields.Boolean(load_default=False)


class TicketRef(_Tolerant):
    ticket_id = fields.String(required=True)


class VolunteerRegistered(_Tolerant):
    volunteer_id = fields.String(required=True)
    volunteer_number = fields.String(required=True)
    community_id = fields.String(required=True)
    # absent from events published before the registry announced it: kept unknown (None)
    organisation_id = fields.String(load_default=None, allow_none=True)
    status = fields.String(required=True)


class VolunteerUpdated(_Tolerant):
    volunteer_id = fields.String(required=True)
    community_id = fields.String(required=True)
    status = fields.String(required=True)


class VolunteerDeactivated(_Tolerant):
    volunteer_id = fields.String(required=True)
    status = fields.String(required=True)


class TeamCreated(_Tolerant):
    team_id = fields.String(required=True)
    code = fields.String(required=True)
    organisation_id = fields.String(required=True)
    community_id = fields.String(required=True)


class TeamMembership(_Tolerant):
    team_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)


class OrganisationRegistered(_Tolerant):
    organisation_id = fields.String(required=True)
    code = fields.String(required=True)
    kind = fields.String(required=True)
    community_id = fields.String(load_default=None, allow_none=True)


class Attendee(_Tolerant):
    volunteer_id = fields.String(required=True, validate=validate.Length(1, 36))
    started_at = fields.AwareDateTime(required=True)
    ended_at = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(1, 24 * 60))


class AttendanceRecorded(_Tolerant):
    activity_id = fields.String(required=True, validate=validate.Length(1, 36))
    organisation_id = fields.String(required=True, validate=validate.Length(1, 36))
    organiser_id = fields.String(required=True, validate=validate.Length(1, 64))
    community_id = fields.String(required=True, validate=validate.Length(1, 36))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    attendees = fields.List(fields.Nested(Attendee), required=True)


class TrainingCompleted(_Tolerant):
    activity_id = fields.String(required=True, validate=validate.Length(1, 36))
    volunteer_id = fields.String(required=True, validate=validate.Length(1, 36))
    organisation_id = fields.String(required=True, validate=validate.Length(1, 36))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    completed_on = fields.Date(required=True)
    minutes = fields.Integer(required=True)


class CommendationAwarded(_Tolerant):
    commendation_id = fields.String(required=True, validate=validate.Length(1, 36))
    volunteer_id = fields.String(required=True, validate=validate.Length(1, 36))
    organisation_id = fields.String(required=True, validate=validate.Length(1, 36))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    level = fields.String(required=True, validate=validate.Length(1, 20))
    awarded_on = fields.Date(required=True)
    awarding_body = fields.String(required=True, validate=validate.Length(1, 200))


def read(schema: type[Schema], event_type: str, data: Any) -> dict[str, Any]:
    """``data`` loaded with ``schema``: by its compiled loader when that vouches for it
    (most payloads), else by marshmallow, whose messages name the bad fields."""
    instance = schema_instance(schema)
    fast = compiled_load(instance)
    loaded = fast(data) if fast is not None else None
    if loaded is not None:
        return loaded
    try:
        return instance.load(data)
    except ValidationError as exc:
        raise ValueError(f"malformed {event_type} data: {exc.messages}") from None
