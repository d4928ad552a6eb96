"""The JSON Schema documents of the event contract: the CloudEvent every message is, and
each event type's ``data`` at each version (the document its ``dataschema`` names)."""

from __future__ import annotations

from typing import Any

from yilin.events import CONTENT_TYPE, SPECVERSION, TYPE_PREFIX, CloudEventSchema, EventType, schema_uri, source_uri
from yilinctl.examples import example_payload
from yilinctl.jsonschema import json_schema

JSON_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
CLOUDEVENT_FILE = "docs/events/cloudevent.json"


def envelope_schema() -> dict[str, Any]:
    """JSON Schema of any Yilin event on the wire: a structured-mode CloudEvent with an
    opaque ``data`` (whose schema its ``dataschema`` names)."""
    out = json_schema(CloudEventSchema)
    props = out["properties"]
    props["specversion"]["const"] = SPECVERSION
    props["datacontenttype"]["const"] = "application/json"
    props["source"]["format"] = "uri"
    props["dataschema"]["format"] = "uri"
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "Yilin event (CloudEvents 1.0, structured content mode)",
        "description": f"Every Yilin event is a CloudEvent 1.0 in JSON, the whole AMQP body (content type "
        f"`{CONTENT_TYPE}`), published on the exchange `<service>.events` with the event type (without "
        f"`{TYPE_PREFIX}`) as routing key. `data` follows the JSON Schema whose `$id` is `dataschema`. "
        "Consumers ignore unknown attributes.",
        **out,
    }


def payload_schema(event_type: EventType) -> dict[str, Any]:
    """JSON Schema of one event type's ``data`` at one version, without ``$schema``/``$id``."""
    payload = json_schema(event_type.schema)
    payload["description"] = event_type.summary
    return payload


def event_schema(event_type: EventType) -> dict[str, Any]:
    """The published JSON Schema of one event type's ``data`` at one version: the
    document its CloudEvents ``dataschema`` names (its ``$id``)."""
    payload = payload_schema(event_type)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_uri(event_type.name, event_type.version),
        "title": f"{event_type.name} v{event_type.version}",
        **payload,
        "description": f"{event_type.summary} The `data` of `{TYPE_PREFIX}{event_type.name}` events with "
        f"`dataversion` {event_type.version}, published by {event_type.source} on `{event_type.source}.events` "
        f"with routing key `{event_type.name}`.",
        "examples": [example_payload(payload, f"{event_type.source}.{event_type.name}.v{event_type.version}")],
    }


def message_schema(event_type: EventType) -> dict[str, Any]:
    """JSON Schema of the whole CloudEvent of one event type and version."""
    out = envelope_schema()
    for key in ("$schema", "title", "description"):
        out.pop(key)
    props = out["properties"]
    props["type"] = {**props["type"], "const": TYPE_PREFIX + event_type.name}
    props["source"] = {**props["source"], "const": source_uri(event_type.source)}
    props["dataschema"] = {**props["dataschema"], "const": schema_uri(event_type.name, event_type.version)}
    props["dataversion"] = {**props["dataversion"], "const": event_type.version}
    props["data"] = payload_schema(event_type)
    return out
