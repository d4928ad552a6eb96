"""What this service reads from other services' events: tolerant schemas (unknown
fields ignored) of just the fields it uses."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from yilin.events import schema_instance

ATTENDANCE_SOURCE = "attendance"  # the hour ledger's source for time from an activity


class HoursVerified(Schema):
    class Meta:
        unknown = EXCLUDE

    entry_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    minutes = fields.Integer(required=True)
    source = fields.String(required=True)
    source_id = fields.String(required=True)


def read(schema: type[Schema], event_type: str, data: Any) -> dict[str, Any]:
    try:
        return schema_instance(schema).load(data)
    except ValidationError as exc:
        raise ValueError(f"malformed {event_type} data: {exc.messages}") from None
