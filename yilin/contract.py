"""The published event contract, generated from the marshmallow schemas the services
validate with, so the contract and the code cannot drift.

``python -m yilin.contract`` writes, for every service in ``services.SERVICES`` that has
an ``events.py``:

- ``docs/events/envelope.json`` and ``docs/events/<type>.v<version>.json``: JSON Schema
  (draft-07) of the envelope, and of the whole envelope of each event type with ``data``
  its payload;
- ``docs/asyncapi.yaml``: AsyncAPI 3.0 (the broker, one channel per ``<service>.events``
  exchange, one message per event type and version);
- ``docs/events.md``: the catalogue page people read.

``--check`` writes nothing and exits 1 when the committed files differ from what the
code generates. Writing refuses a change that would break subscribers within a version
(see :func:`breaking_changes`): that needs a new version published beside the old one."""

from __future__ import annotations

import argparse
import difflib
import importlib
import importlib.util
import json
import sys
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml
from marshmallow import Schema, fields, validate

from yilin import __version__
from yilin.events import EnvelopeSchema, EventType

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # nameko imported by the services

ROOT = Path(__file__).resolve().parent.parent
JSON_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
EXAMPLE_TIME = "2026-11-29T09:00:00Z"
_EXAMPLE_NAMESPACE = uuid.UUID("6f1c7a52-3c1e-4f0e-9a57-2f3b0c1d9e41")  # makes example ids stable


# -- the catalogue ---------------------------------------------------------------------
def service_catalogues(service_names: Iterable[str] | None = None) -> dict[str, Any]:
    """``{service: EventCatalogue}`` for each service (default: ``services.SERVICES``)
    that publishes events, in ``SERVICES`` order."""
    if service_names is None:
        from services import SERVICES

        service_names = list(SERVICES)
    catalogues = {}
    for name in service_names:
        module_name = f"services.{name}.events"
        if importlib.util.find_spec(f"services.{name}") is None or importlib.util.find_spec(module_name) is None:
            continue
        catalogues[name] = importlib.import_module(module_name).EVENTS
    return catalogues


def event_types(service_names: Iterable[str] | None = None) -> list[EventType]:
    """Every ``(type, version)`` the given services publish, in a stable order."""
    return [t for catalogue in service_catalogues(service_names).values() for t in catalogue]


def schema_filename(event_type: EventType) -> str:
    return f"{event_type.name}.v{event_type.version}.json"


def message_id(event_type: EventType) -> str:
    """The AsyncAPI component id of one event type and version."""
    return f"{event_type.source}.{event_type.name}.v{event_type.version}"


# -- marshmallow → JSON Schema ---------------------------------------------------------
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def json_schema(schema: type[Schema] | Schema) -> dict[str, Any]:
    """The JSON Schema of what ``schema.dump`` puts on the wire."""
    instance = schema() if isinstance(schema, type) else schema
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in instance.fields.items():
        if field.load_only:
            continue  # never dumped, so never published
        key = field.data_key or name
        properties[key] = field_schema(field, key)
        if field.required:
            required.append(key)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = sorted(required)
    return out


def field_schema(field: fields.Field, name: str) -> dict[str, Any]:
    """JSON Schema of one field, with its validators, nullability and description."""
    out = _base_schema(field, name)
    for validator in _validators(field):
        _apply_validator(out, validator)
    if field.allow_none:
        _allow_null(out)
    description = field.metadata.get("description")
    if description:
        out["description"] = description
    unit = field_unit(field, name)
    if unit:
        out["x-unit"] = unit
    if "example" in field.metadata:
        out["examples"] = [field.metadata["example"]]
    return out


def _base_schema(field: fields.Field, name: str) -> dict[str, Any]:
    # Order matters: UUID, Email and URL are Strings in some marshmallow versions,
    # AwareDateTime a DateTime, Pluck a Nested, Integer and Decimal Numbers.
    if isinstance(field, fields.UUID):
        return {"type": "string", "format": "uuid"}
    if isinstance(field, fields.Email):
        return {"type": "string", "format": "email"}
    if isinstance(field, fields.URL):
        return {"type": "string", "format": "uri"}
    if isinstance(field, fields.String):
        return {"type": "string"}
    if isinstance(field, fields.Boolean):
        return {"type": "boolean"}
    if isinstance(field, fields.Integer):
        return {"type": "integer"}
    if isinstance(field, fields.Decimal):
        # Exact amounts travel as strings so no JSON parser turns them into floats.
        return {"type": "string", "pattern": DECIMAL_PATTERN, "format": "decimal"}
    if isinstance(field, fields.Number):  # Float, or a plain Number
        return {"type": "number"}
    if isinstance(field, fields.DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(field, fields.Date):
        return {"type": "string", "format": "date"}
    if isinstance(field, fields.Time):
        return {"type": "string", "format": "time"}
    if isinstance(field, fields.Pluck):
        raise TypeError(f"field {name!r}: fields.Pluck is not supported in event schemas")
    if isinstance(field, fields.Nested):
        nested = json_schema(field.schema)
        return {"type": "array", "items": nested} if field.many else nested
    if isinstance(field, fields.List):
        return {"type": "array", "items": field_schema(field.inner, name)}
    if isinstance(field, fields.Mapping):
        out: dict[str, Any] = {"type": "object"}
        if field.value_field is not None:
            out["additionalProperties"] = field_schema(field.value_field, name)
        if field.key_field is not None:
            keys = field_schema(field.key_field, name)
            keys.pop("x-unit", None)
            out["propertyNames"] = keys
        return out
    if isinstance(field, fields.Tuple):
        items = [field_schema(f, name) for f in field.tuple_fields]
        return {"type": "array", "items": items, "minItems": len(items), "maxItems": len(items)}
    if isinstance(field, fields.Enum):
        if field.by_value is False:
            values = [member.name for member in field.enum]
        else:
            values = [field.field._serialize(member.value, None, None) for member in field.enum]
        kinds = {_JSON_TYPES.get(type(v), "string") for v in values}
        return {"type": kinds.pop(), "enum": values} if len(kinds) == 1 else {"enum": values}
    if isinstance(field, fields.Constant):
        return {"const": field.constant}
    if type(field) is fields.Raw:
        return {}
    raise TypeError(f"field {name!r}: {type(field).__name__} has no JSON Schema mapping in yilin.contract; "
                    "use String, Integer, Boolean, UUID, DateTime, Date, List, Nested, Dict, Enum, Decimal or Raw")


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _validators(field: fields.Field) -> Iterator[Any]:
    for validator in field.validators:
        if isinstance(validator, validate.And):
            yield from validator.validators
        else:
            yield validator


def _apply_validator(out: dict[str, Any], validator: Any) -> None:
    array = out.get("type") == "array"
    if isinstance(validator, validate.OneOf):
        out["enum"] = list(validator.choices)
    elif isinstance(validator, validate.Range):
        for bound, inclusive, keyword in ((validator.min, validator.min_inclusive, "minimum"),
                                          (validator.max, validator.max_inclusive, "maximum")):
            if bound is not None:
                out[keyword if inclusive else "exclusive" + keyword.capitalize()] = bound
    elif isinstance(validator, validate.Length):
        low, high = ("minItems", "maxItems") if array else ("minLength", "maxLength")
        if validator.equal is not None:
            out[low] = out[high] = validator.equal
        else:
            if validator.min is not None:
                out[low] = validator.min
            if validator.max is not None:
                out[high] = validator.max
    elif isinstance(validator, validate.Regexp):
        out["pattern"] = validator.regex.pattern
    # Other validators (functions, custom classes) have no JSON Schema form; the
    # publishing side still enforces them.


def _allow_null(out: dict[str, Any]) -> None:
    if "const" in out:
        out["enum"] = [out.pop("const"), None]
        return
    if "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = types + ["null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]


UNITS = {
    "fen": "fen (integer; 100 fen = 1 yuan)",
    "minutes": "minutes (integer)",
    "date-time": "UTC timestamp, ISO 8601 / RFC 3339",
    "date": "calendar date, YYYY-MM-DD",
}


def field_unit(field: fields.Field, name: str) -> str | None:
    """The unit of a field: ``metadata["unit"]``, else the house conventions (money in
    integer fen, time served in integer minutes) read from the field's name."""
    unit = field.metadata.get("unit")
    if unit:
        return UNITS.get(unit, unit)
    if isinstance(field, fields.Integer):
        if name == "minutes" or name.endswith("_minutes"):
            return UNITS["minutes"]
        if name in ("fen", "amount") or name.endswith(("_fen", "_amount")):
            return UNITS["fen"]
    if isinstance(field, fields.DateTime):
        return UNITS["date-time"]
    if isinstance(field, fields.Date):
        return UNITS["date"]
    return None


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
    key = f"{event_type.source}.{event_type.name}.v{event_type.version}"
    return {
        "id": str(uuid.uuid5(_EXAMPLE_NAMESPACE, key + "#id")),
        "type": event_type.name,
        "version": event_type.version,
        "source": event_type.source,
        "occurred_at": EXAMPLE_TIME,
        "correlation_id": str(uuid.uuid5(_EXAMPLE_NAMESPACE, key + "#correlation")),
        "data": example_payload(payload_schema, key),
    }


# -- documents -------------------------------------------------------------------------
def envelope_schema() -> dict[str, Any]:
    """JSON Schema of any event: the envelope with an opaque ``data``."""
    out = json_schema(EnvelopeSchema)
    out["properties"]["data"]["description"] = (
        "The payload; its schema is docs/events/<type>.v<version>.json (property `data`).")
    return {"$schema": JSON_SCHEMA_DIALECT, "title": "Yilin event envelope",
            "description": "Every Yilin event is a JSON object of this shape, published with the event type as "
                           "routing key on the exchange `<source>.events`. Consumers ignore unknown properties.",
            **out}


def event_schema(event_type: EventType) -> dict[str, Any]:
    """JSON Schema of the whole envelope of one event type and version."""
    out = json_schema(EnvelopeSchema)
    props = out["properties"]
    props["type"] = {**props["type"], "const": event_type.name}
    props["version"] = {"type": "integer", "const": event_type.version, "description": props["version"]["description"]}
    props["source"] = {**props["source"], "const": event_type.source}
    payload = json_schema(event_type.schema)
    payload["description"] = event_type.summary
    props["data"] = payload
    return {"$schema": JSON_SCHEMA_DIALECT, "title": f"{event_type.name} v{event_type.version}",
            "description": f"{event_type.summary} Published by {event_type.source} on `{event_type.source}.events` "
                           f"with routing key `{event_type.name}`.",
            **out, "examples": [example_envelope(event_type, payload)]}


def asyncapi_document(types: list[EventType]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event type."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event_type in types:
        exchange = f"{event_type.source}.events"
        channel = channels.setdefault(exchange, {
            "address": exchange,
            "title": f"{event_type.source} events",
            "description": (f"The durable topic exchange `{exchange}`. Every event of the {event_type.source} service "
                            "is published here with its type as routing key. Subscribers bind their own queue to it "
                            "with the routing keys (or patterns such as `volunteer.*`, `#`) they want."),
            "servers": [{"$ref": "#/servers/broker"}],
            "messages": {},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": exchange, "type": "topic", "durable": True, "autoDelete": False},
                "bindingVersion": "0.3.0"}},
        })
        mid = message_id(event_type)
        document = event_schema(event_type)
        example = document.pop("examples")[0]
        document.pop("$schema")
        schemas[mid] = document
        messages[mid] = {
            "name": event_type.name,
            "title": f"{event_type.name} v{event_type.version}",
            "summary": event_type.summary,
            "description": (f"Routing key `{event_type.name}` on exchange `{exchange}`; envelope `version` "
                            f"{event_type.version}. JSON Schema: docs/events/{schema_filename(event_type)}."),
            "contentType": "application/json",
            "correlationId": {"$ref": "#/components/correlationIds/envelope"},
            "payload": {"$ref": f"#/components/schemas/{mid}"},
            "bindings": {"amqp": {"contentEncoding": "utf-8", "bindingVersion": "0.3.0"}},
            "examples": [{"name": f"{event_type.name}-v{event_type.version}", "payload": example}],
            "x-routing-key": event_type.name,
        }
        channel["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
        operation = operations.setdefault(f"{event_type.source}.{event_type.name}", {
            "action": "send",
            "channel": {"$ref": f"#/channels/{exchange}"},
            "title": f"{event_type.source} publishes {event_type.name}",
            "summary": event_type.summary,
            "messages": [],
            "bindings": {"amqp": {"cc": [event_type.name], "deliveryMode": 2, "mandatory": False,
                                  "bindingVersion": "0.3.0"}},
        })
        operation["messages"].append({"$ref": f"#/channels/{exchange}/messages/{mid}"})
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Yilin events",
            "version": __version__,
            "description": (
                "Events published by Yilin's services. Each service publishes to its own durable topic exchange "
                "`<service>.events` on RabbitMQ (AMQP 0-9-1) with the event type as routing key, as persistent "
                "JSON messages whose AMQP `message_id` is the envelope id. Every message is an envelope "
                "{id, type, version, source, occurred_at, correlation_id, data}. Ids are UUID strings, money is "
                "integer fen, time served integer minutes, timestamps UTC ISO 8601; events never carry names, "
                "phone or ID numbers. Within a version, fields are only ever added (ignore unknown ones); a "
                "breaking change is published as a new version beside the old one for a deprecation window. "
                "Delivery is at least once: de-duplicate on `id`. See docs/subscribing.md."),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "{host}:{port}",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "title": "RabbitMQ",
                "description": "The district's RabbitMQ broker; each deployment gives subscribers their own "
                               "user and virtual host.",
                "variables": {"host": {"default": "localhost"}, "port": {"default": "5672"}},
                "security": [{"$ref": "#/components/securitySchemes/broker_user"}],
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "correlationIds": {"envelope": {
                "description": "Id of the HTTP request or event chain that caused the event.",
                "location": "$message.payload#/correlation_id"}},
            "securitySchemes": {"broker_user": {
                "type": "userPassword", "description": "A RabbitMQ user with read access to the exchanges."}},
        },
    }


# -- the catalogue page ----------------------------------------------------------------
def _type_label(schema: dict[str, Any]) -> str:
    types = schema.get("type")
    if types is None:
        return "const" if "const" in schema else "any"
    types = types if isinstance(types, list) else [types]
    labels = []
    for t in types:
        if t == "array":
            labels.append(f"array of {_type_label(schema.get('items', {}))}")
        elif t == "string" and schema.get("format"):
            labels.append(f"string ({schema['format']})")
        else:
            labels.append(t)
    return " or ".join(labels)


def _constraints(schema: dict[str, Any]) -> str:
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{v}`" if v is not None else "null" for v in schema["enum"]))
    for keyword, symbol in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if keyword in schema:
            parts.append(f"{symbol} {schema[keyword]}")
    for keyword, label in (("minLength", "length ≥"), ("maxLength", "length ≤"), ("minItems", "items ≥"),
                           ("maxItems", "items ≤")):
        if keyword in schema:
            parts.append(f"{label} {schema[keyword]}")
    if "pattern" in schema and schema.get("format") != "decimal":
        parts.append(f"matches `{schema['pattern']}`")
    return "; ".join(parts)


def _field_rows(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    required = set(schema.get("required", []))
    for key, sub in schema.get("properties", {}).items():
        path = prefix + key
        meaning = sub.get("description", "—").replace("|", "\\|").replace("\n", " ")
        constraints = _constraints(sub)
        if constraints:
            meaning += f" ({constraints})"
        yield (f"| `{path}` | {_type_label(sub)} | {'yes' if key in required else 'no'} | "
               f"{'yes' if _nullable(sub) else 'no'} | {sub.get('x-unit', '')} | {meaning} |")
        if "properties" in sub:
            yield from _field_rows(sub, path + ".")
        elif "properties" in sub.get("items", {}):
            yield from _field_rows(sub["items"], path + "[].")


def _nullable(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    if types is None and "enum" not in schema and "const" not in schema:
        return True  # any JSON value
    return (isinstance(types, list) and "null" in types) or None in schema.get("enum", [])


def catalogue_page(types: list[EventType]) -> str:
    """docs/events.md: every event, when and by whom it is published, its fields and an example."""
    lines = [
        "# Event catalogue",
        "",
        "<!-- Generated by `python -m yilin.contract` (`make contract`) from the services' marshmallow",
        "     schemas; do not edit by hand. -->",
        "",
        "Every event Yilin publishes, generated from the same schemas the services validate with. "
        "How to subscribe: [subscribing.md](subscribing.md). Machine-readable: "
        "[asyncapi.yaml](asyncapi.yaml) and one JSON Schema per event under [events/](events/).",
        "",
        "## Conventions",
        "",
        "- Each service publishes to the durable topic exchange `<service>.events`; the routing key is the "
        "event type. Messages are persistent JSON (`application/json`, UTF-8); the AMQP `message_id` is the "
        "envelope `id`.",
        "- Ids are UUID strings. Money is integer **fen** (100 fen = 1 yuan), never a float. Time served is "
        "integer **minutes**. Timestamps are UTC, ISO 8601.",
        "- Events carry ids and codes, never names, phone numbers, ID numbers or addresses.",
        "- Delivery is at least once and unordered across types: de-duplicate on `id`.",
        "- Within a version fields are only added, never removed, retyped or made required; ignore fields "
        "you do not know. A breaking change is published as a new `version` beside the old one for a "
        "deprecation window.",
        "",
        "## Envelope",
        "",
        "| field | type | required | null | unit | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
        *_field_rows(json_schema(EnvelopeSchema)),
        "",
        "JSON Schema: [events/envelope.json](events/envelope.json).",
        "",
        "## Events",
        "",
        "| event | version | publisher | exchange | when |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in types:
        anchor = f"{t.name}-v{t.version}".replace(".", "")
        lines.append(f"| [`{t.name}`](#{anchor}) | {t.version} | {t.source} | `{t.source}.events` | {t.summary} |")
    current = None
    for t in types:
        if t.source != current:
            current = t.source
            lines += ["", f"## {t.source}", "", f"Exchange `{t.source}.events` (topic, durable).", ""]
        payload = json_schema(t.schema)
        lines += [
            f"### {t.name} v{t.version}",
            "",
            f"**When:** {t.summary}",
            "",
            f"**Published by** {t.source} on `{t.source}.events`, routing key `{t.name}`, envelope `version` "
            f"{t.version}. JSON Schema: [events/{schema_filename(t)}](events/{schema_filename(t)}).",
            "",
            "| field (`data.…`) | type | required | null | unit | meaning |",
            "| --- | --- | --- | --- | --- | --- |",
            *_field_rows(payload),
            "",
            "Example:",
            "",
            "```json",
            json.dumps(example_envelope(t, payload), indent=2, ensure_ascii=False),
            "```",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- files -----------------------------------------------------------------------------
def _json_text(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _yaml_text(document: Any) -> str:
    header = "# Generated by `python -m yilin.contract` (`make contract`); do not edit by hand.\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100_000,
                                   default_flow_style=False)


def generate(types: list[EventType] | None = None) -> dict[str, str]:
    """Every contract file, as ``{path relative to the repository: text}``."""
    types = event_types() if types is None else types
    files = {
        "docs/asyncapi.yaml": _yaml_text(asyncapi_document(types)),
        "docs/events.md": catalogue_page(types),
        "docs/events/envelope.json": _json_text(envelope_schema()),
    }
    for event_type in types:
        path = f"docs/events/{schema_filename(event_type)}"
        if path in files:  # routing keys are global: one type name, one publisher
            raise ValueError(f"event {event_type.name} v{event_type.version} is defined by more than one service")
        files[path] = _json_text(event_schema(event_type))
    return dict(sorted(files.items()))


def committed_files(root: Path = ROOT) -> dict[str, str]:
    """The contract files on disk (the generated set, plus anything stale under docs/events)."""
    paths = {root / "docs" / "asyncapi.yaml", root / "docs" / "events.md", *(root / "docs" / "events").glob("*.json")}
    return {str(p.relative_to(root)): p.read_text() for p in sorted(paths) if p.is_file()}


def differences(generated: dict[str, str], committed: dict[str, str]) -> list[str]:
    """A short, readable summary of how the committed files differ from the generated ones."""
    out = []
    for path in sorted(set(generated) | set(committed)):
        if path not in committed:
            out.append(f"missing: {path}")
        elif path not in generated:
            out.append(f"stale (no longer generated): {path}")
        elif generated[path] != committed[path]:
            diff = list(difflib.unified_diff(committed[path].splitlines(), generated[path].splitlines(),
                                             f"committed/{path}", f"generated/{path}", lineterm="", n=1))
            shown = diff[:24] + ([f"... {len(diff) - 24} more diff lines"] if len(diff) > 24 else [])
            out.append(f"differs: {path}\n" + "\n".join("    " + line for line in shown))
    return out


# -- compatibility within a version ----------------------------------------------------
def _type_set(schema: dict[str, Any]) -> frozenset[str]:
    if "const" in schema:
        return frozenset({type(schema["const"]).__name__})
    types = schema.get("type")
    if types is None:
        return frozenset({"any"})
    return frozenset(types if isinstance(types, list) else [types])


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "data") -> list[str]:
    """What in ``new`` breaks subscribers written against ``old`` (two JSON Schemas of the
    same type and version): a field removed, retyped (nullability and format included),
    made required or no longer required, a required field added, or an allowed value
    dropped. A new optional field, a new description or a new allowed value is fine."""
    problems: list[str] = []
    if _type_set(old) != _type_set(new):
        return [f"{path}: type changed from {sorted(_type_set(old))} to {sorted(_type_set(new))}"]
    if old.get("format") != new.get("format"):
        problems.append(f"{path}: format changed from {old.get('format')} to {new.get('format')}")
    if "enum" in new and "enum" not in old:
        problems.append(f"{path}: now restricted to {new['enum']}")
    if "enum" in old:
        dropped = [v for v in old["enum"] if v not in new.get("enum", old["enum"])]
        if dropped:
            problems.append(f"{path}: no longer allows {dropped}")
    if "const" in old and old.get("const") != new.get("const"):
        problems.append(f"{path}: constant changed from {old['const']!r} to {new.get('const')!r}")
    if "items" in old:
        problems += breaking_changes(old["items"], new.get("items", {}), path + "[]")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for key, sub in old_props.items():
        where = f"{path}.{key}"
        if key not in new_props:
            problems.append(f"{where}: removed")
            continue
        if key in old_required and key not in new_required:
            problems.append(f"{where}: no longer required")
        if key not in old_required and key in new_required:
            problems.append(f"{where}: became required")
        problems += breaking_changes(sub, new_props[key], where)
    for key in sorted(set(new_props) - set(old_props)):
        if key in new_required:
            problems.append(f"{path}.{key}: added as required (add it as optional, or publish a new version)")
    return problems


def compatibility_problems(generated: dict[str, str], committed: dict[str, str]) -> list[str]:
    """Breaking changes of the code against the committed per-event schemas, which act
    as the lock of each published ``(type, version)``."""
    problems = []
    for path, text in sorted(committed.items()):
        if not path.startswith("docs/events/") or path.endswith("envelope.json"):
            continue
        if path not in generated:
            problems.append(f"{path}: the code no longer defines this event version (retiring a version after its "
                            "deprecation window: delete the file by hand in the same change)")
            continue
        old, new = json.loads(text)["properties"]["data"], json.loads(generated[path])["properties"]["data"]
        problems += [f"{path}: {p}" for p in breaking_changes(old, new)]
    return problems


@dataclass
class Outcome:
    written: list[str]
    removed: list[str]
    problems: list[str]


def write(root: Path = ROOT, generated: dict[str, str] | None = None) -> Outcome:
    """Write the generated files, unless that would break a published version."""
    generated = generate() if generated is None else generated
    committed = committed_files(root)
    problems = compatibility_problems(generated, committed)
    if problems:
        return Outcome([], [], problems)
    written = []
    for path, text in generated.items():
        target = root / path
        if committed.get(path) != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            written.append(path)
    removed = [path for path in committed if path not in generated]
    for path in removed:
        (root / path).unlink()
    return Outcome(written, removed, [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yilin.contract", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the committed contract differs from the code")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    generated = generate()
    if args.check:
        committed = committed_files(args.root)
        report = compatibility_problems(generated, committed) + differences(generated, committed)
        if report:
            print("The committed event contract differs from the code; run `make contract` and commit docs/:",
                  file=sys.stderr)
            print("\n".join("  " + line for line in report), file=sys.stderr)
            return 1
        print(f"event contract up to date ({len(generated)} files)")
        return 0
    outcome = write(args.root, generated)
    if outcome.problems:
        print("Refusing to regenerate: these changes would break subscribers of a published version. "
              "Keep the old version and define the changed schema as a new version "
              "(`@EVENTS.define(name, version=N+1)`), published beside it:", file=sys.stderr)
        print("\n".join("  " + p for p in outcome.problems), file=sys.stderr)
        return 1
    for path in outcome.written:
        print(f"wrote {path}")
    for path in outcome.removed:
        print(f"removed {path}")
    print(f"event contract: {len(generated)} files, {len(outcome.written)} changed, {len(outcome.removed)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
