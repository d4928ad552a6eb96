"""Deterministic examples of event payloads, read from their JSON Schema."""

from __future__ import annotations

import uuid
from typing import Any

from yilin.events import SPECVERSION, TYPE_PREFIX, EventType, schema_uri, source_uri

EXAMPLE_TIME = "2026-11-29T09:00:00Z"
_EXAMPLE_NAMESPACE = uuid.UUID("6f1c7a52-3c1e-4f0e-9a57-2f3b0c1d9e41")  # makes example ids stable


# -- examples --------------------------------------------------------------------------
def example_payload(schema: dict[str, Any], seed: str) -> Any:
    """A deterministic example value for a JSON Schema produced by :func:`json_schema`."""
    if "examples" in schema:
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    types = schema.get("type", [])
    kind = next((t for t in (types if isinstance(types, list) else [types]) if t != "null"), None)
    name = seed.rsplit(".", 1)[-1].split("[", 1)[0]  # the field's name, without item suffixes
    if kind == "object":
        props = schema.get("properties", {})
        return {key: example_payload(sub, f"{seed}.{key}") for key, sub in sorted(props.items())}
    if kind == "array" and isinstance(schema.get("items"), list):  # a tuple
        return [example_payload(item, f"{seed}[{i}]") for i, item in enumerate(schema["items"])]
    if kind == "array":
        count = max(1, schema.get("minItems", 1))
        return [example_payload(schema["items"], f"{seed}[]{i or ''}") for i in range(count)]
    if kind == "integer":
        unit = schema.get("x-unit", "")
        value = 90 if unit.startswith("minutes") else 500000 if unit.startswith("fen") else 1
        value = max(value, schema.get("minimum", value), schema.get("exclusiveMinimum", value - 1) + 1)
        return min(value, schema.get("maximum", value), schema.get("exclusiveMaximum", value + 1) - 1)
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid" or name.endswith(("_id", "_ids")):
            return str(uuid.uuid5(_EXAMPLE_NAMESPACE, seed))
        if fmt == "date-time":
            return EXAMPLE_TIME
        if fmt == "date":
            return EXAMPLE_TIME[:10]
        if fmt == "time":
            return EXAMPLE_TIME[11:19]
        if fmt == "decimal":
            return "12.50"
        text = name.rstrip("s") if name.endswith("s") else name
        return text.ljust(schema.get("minLength", 0), "x")
    return None


def example_envelope(event_type: EventType, payload_schema: dict[str, Any]) -> dict[str, Any]:
    """A deterministic example of a whole event of ``event_type``: the CloudEvent."""
    key = f"{event_type.source}.{event_type.name}.v{event_type.version}"
    return {
        "specversion": SPECVERSION,
        "id": str(uuid.uuid5(_EXAMPLE_NAMESPACE, key + "#id")),
        "source": source_uri(event_type.source),
        "type": TYPE_PREFIX + event_type.name,
        "time": EXAMPLE_TIME,
        "datacontenttype": "application/json",
        "dataschema": schema_uri(event_type.name, event_type.version),
        "dataversion": event_type.version,
        "correlationid": str(uuid.uuid5(_EXAMPLE_NAMESPACE, key + "#correlation")),
        "data": example_payload(payload_schema, key),
    }
