"""The kit's wire format: a CloudEvent in structured mode out, either it or the first
envelope in, the same :class:`Envelope` for handlers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kombu.serialization import dumps, loads
from marshmallow import Schema, ValidationError, fields

from yilin.events import (
    CONTENT_TYPE,
    SERIALIZER,
    EventCatalogue,
    content_type,
    correlation_of,
    parse_envelope,
    routing_key,
)

CATALOGUE = EventCatalogue("tickets")


@CATALOGUE.define("ticket.cancelled")
class Cancelled(Schema):
    ticket_id = fields.String(required=True)


def _event(correlation_id: str | None = "req-1") -> Any:
    return CATALOGUE.envelope("ticket.cancelled", {"ticket_id": "t-1"}, correlation_id)


def test_an_event_is_published_as_a_cloudevent_and_read_back() -> None:
    event = _event()
    message = event.to_message()
    assert message["specversion"] == "1.0" and message["type"] == "org.yilin.ticket.cancelled"
    assert message["source"] == "urn:yilin:service:tickets" and message["datacontenttype"] == "application/json"
    assert message["dataschema"] == "urn:yilin:schema:ticket.cancelled:v1" and message["dataversion"] == 1
    assert message["correlationid"] == "req-1" and message["time"].endswith("Z")
    assert all(key.isalnum() and key.islower() for key in message)  # CloudEvents attribute names
    assert content_type(message) == CONTENT_TYPE and routing_key(message) == "ticket.cancelled"
    assert parse_envelope(message) == event
    # no correlation: the attribute is absent, never null
    assert "correlationid" not in _event(None).to_message()

    # kombu encodes and decodes the content type by the kit's serializer
    kind, encoding, body = dumps(message, serializer=SERIALIZER)
    assert kind == CONTENT_TYPE
    assert loads(body, kind, encoding, accept={CONTENT_TYPE}) == json.loads(json.dumps(message))


def test_the_first_envelope_is_still_read_as_the_same_event() -> None:
    event = _event()
    legacy = {
        "id": event.id,
        "type": event.type,
        "version": 1,
        "source": "tickets",
        "occurred_at": event.occurred_at.isoformat(),
        "correlation_id": "req-1",
        "data": event.data,
    }
    assert parse_envelope(legacy) == event
    assert content_type(legacy) == "application/json" and routing_key(legacy) == "ticket.cancelled"
    assert correlation_of(legacy) == correlation_of(event.to_message()) == "req-1"


@pytest.mark.parametrize(
    "change",
    [
        {"specversion": "0.3"},
        {"type": "ticket.cancelled"},  # no reverse-DNS prefix
        {"source": "tickets"},
        {"dataschema": "urn:yilin:schema:ticket.cancelled:v2"},  # names another version
        {"dataversion": 0},
        {"time": "yesterday"},
        {"data": None},
    ],
)
def test_a_malformed_cloudevent_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_envelope({**_event().to_message(), **change})
