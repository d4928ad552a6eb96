"""The kit's wire format: a CloudEvent in structured mode out, either it or the first
envelope in, the same :class:`Envelope` for handlers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kombu.serialization import dumps, loads
from marshmallow import Schema, ValidationError, fields

from yilin import events
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


ID = "6f1c7a52-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
# a value for each attribute that marshmallow may refuse, or read differently from its look
ODD: list[Any] = [
    None, "", 1, True, 1.5, "1", [], {}, ID, ID.upper(), "{" + ID + "}", ID.replace("-", ""), "urn:uuid:" + ID,
    "1.0", "0.3", "application/json", "org.yilin.ticket.cancelled", "org.yilin.ticket.cancelled\n", "tickets",
    "urn:yilin:service:tickets", "urn:yilin:service:Tickets", "urn:yilin:schema:ticket.cancelled:v1",
    "2026-12-05T08:30:00Z", "2026-12-05T08:30:00.123456+08:00", "2026-12-05T08:30:00", "2026-12-05", "2026-W49",
    "20261205T083000", "yesterday", {"ticket_id": "t-1"}, 0, 2, -1,
]  # fmt: skip


def _read(body: dict[str, Any]) -> Any:
    """``parse_envelope``'s answer with marshmallow alone reading the envelope."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "_ENVELOPE_LOAD", None)
        patch.setattr(events, "_CLOUDEVENT_LOAD", None)
        try:
            return parse_envelope(body)
        except ValidationError:
            return None


@pytest.mark.parametrize("legacy", [False, True])
def test_the_compiled_envelope_reader_answers_as_marshmallow(legacy: bool) -> None:
    event = _event()
    message = event.to_message() | {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    if legacy:
        message = {
            "id": event.id, "type": event.type, "version": 1, "source": "tickets",
            "occurred_at": event.occurred_at.isoformat(), "correlation_id": "req-1", "data": event.data,
        }  # fmt: skip
    compiled = events._ENVELOPE_LOAD if legacy else events._CLOUDEVENT_LOAD
    assert compiled is not None and compiled(message) is not None
    assert parse_envelope(message) == _read(message) == event
    vouched = 0
    for name in [*message, "unknown"]:
        bodies = [{**message, name: value} for value in ODD] + [{k: v for k, v in message.items() if k != name}]
        for body in bodies:
            vouched += compiled(body) is not None
            try:
                answer = parse_envelope(body)
            except ValidationError:
                answer = None
            assert answer == _read(body), (name, body.get(name))
    assert vouched > 20  # the usual values are read without marshmallow
