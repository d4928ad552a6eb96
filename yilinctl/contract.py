"""The published event contract, generated from the marshmallow schemas the services
validate with, so the contract and the code cannot drift.

``python -m yilinctl.contract`` writes, for every service in ``services.SERVICES`` that has
an ``events.py``:

- ``docs/events/cloudevent.json``: JSON Schema (draft-07) of any event on the wire, a
  CloudEvent 1.0 in structured content mode;
- ``docs/events/<type>.v<version>.json``: JSON Schema of each event type's ``data`` at
  each version, whose ``$id`` is the ``dataschema`` those events carry;
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
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from services import SERVICES
from yilin import __version__
from yilin.events import CONTENT_TYPE, SOURCE_PREFIX, TYPE_PREFIX, EventType, schema_uri
from yilinctl.catalogue_page import catalogue_page, message_id, schema_filename
from yilinctl.compatibility import breaking_changes, compatibility_problems
from yilinctl.event_schemas import (
    CLOUDEVENT_FILE,
    JSON_SCHEMA_DIALECT,
    envelope_schema,
    event_schema,
    message_schema,
    payload_schema,
)
from yilinctl.examples import EXAMPLE_TIME, example_envelope, example_payload
from yilinctl.jsonschema import field_schema, field_unit, json_schema

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # nameko imported by the services

# the generator's parts, importable from here as before the split
__all__ = [
    "CLOUDEVENT_FILE",
    "EXAMPLE_TIME",
    "JSON_SCHEMA_DIALECT",
    "ROOT",
    "breaking_changes",
    "catalogue_page",
    "committed_files",
    "compatibility_problems",
    "differences",
    "envelope_schema",
    "event_schema",
    "event_types",
    "example_envelope",
    "example_payload",
    "field_schema",
    "field_unit",
    "generate",
    "json_schema",
    "main",
    "message_id",
    "message_schema",
    "payload_schema",
    "schema_filename",
    "service_catalogues",
    "write",
]
ROOT = Path(__file__).resolve().parent.parent


# -- the catalogue ---------------------------------------------------------------------
def service_catalogues(service_names: Iterable[str] | None = None) -> dict[str, Any]:
    """``{service: EventCatalogue}`` for each service (default: ``services.SERVICES``)
    that publishes events, in ``SERVICES`` order."""
    if service_names is None:
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


# -- documents -------------------------------------------------------------------------
def asyncapi_document(types: list[EventType]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event type."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event_type in types:
        exchange = f"{event_type.source}.events"
        channel = channels.setdefault(
            exchange,
            {
                "address": exchange,
                "title": f"{event_type.source} events",
                "description": (
                    f"The durable topic exchange `{exchange}`. Every event of the {event_type.source} service "
                    "is published here with its type as routing key. Subscribers bind their own queue to it "
                    "with the routing keys (or patterns such as `volunteer.*`, `#`) they want."
                ),
                "servers": [{"$ref": "#/servers/broker"}],
                "messages": {},
                "bindings": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False},
                        "bindingVersion": "0.3.0",
                    }
                },
            },
        )
        mid = message_id(event_type)
        schemas[mid] = message_schema(event_type)
        example = example_envelope(event_type, payload_schema(event_type))
        messages[mid] = {
            "name": event_type.name,
            "title": f"{event_type.name} v{event_type.version}",
            "summary": event_type.summary,
            "description": (
                f"A CloudEvent of type `{TYPE_PREFIX}{event_type.name}` with `dataversion` {event_type.version}, "
                f"routing key `{event_type.name}` on exchange `{exchange}`. Its `dataschema` "
                f"`{schema_uri(event_type.name, event_type.version)}` is the JSON Schema "
                f"docs/events/{schema_filename(event_type)}."
            ),
            "contentType": CONTENT_TYPE,
            "correlationId": {"$ref": "#/components/correlationIds/envelope"},
            "payload": {"$ref": f"#/components/schemas/{mid}"},
            "bindings": {"amqp": {"contentEncoding": "utf-8", "bindingVersion": "0.3.0"}},
            "examples": [{"name": f"{event_type.name}-v{event_type.version}", "payload": example}],
            "x-routing-key": event_type.name,
        }
        channel["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
        operation = operations.setdefault(
            f"{event_type.source}.{event_type.name}",
            {
                "action": "send",
                "channel": {"$ref": f"#/channels/{exchange}"},
                "title": f"{event_type.source} publishes {event_type.name}",
                "summary": event_type.summary,
                "messages": [],
                "bindings": {
                    "amqp": {"cc": [event_type.name], "deliveryMode": 2, "mandatory": False, "bindingVersion": "0.3.0"}
                },
            },
        )
        operation["messages"].append({"$ref": f"#/channels/{exchange}/messages/{mid}"})
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Yilin events",
            "version": __version__,
            "description": (
                "Events published by Yilin's services. Each service publishes to its own durable topic exchange "
                "`<service>.events` on RabbitMQ (AMQP 0-9-1) with the event type as routing key, as persistent "
                "messages whose AMQP `message_id` is the event id. Every message is a CloudEvent 1.0 in "
                f"structured content mode (the body is the JSON CloudEvent, content type `{CONTENT_TYPE}`): "
                f"`type` is `{TYPE_PREFIX}<event type>`, `source` `{SOURCE_PREFIX}<service>`, `dataschema` the "
                "`$id` of the JSON Schema of `data`, with the extension attributes `dataversion` (schema "
                "version of `data`), `correlationid` and `traceparent`. Ids are UUID strings, money is "
                "integer fen, time served integer minutes, timestamps UTC ISO 8601; events never carry names, "
                "phone or ID numbers. Within a version, fields are only ever added (ignore unknown ones); a "
                "breaking change is published as a new version beside the old one for a deprecation window. "
                "Delivery is at least once: de-duplicate on `id`. See docs/subscribing.md."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
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
            "correlationIds": {
                "envelope": {
                    "description": "Id of the HTTP request or event chain that caused the event.",
                    "location": "$message.payload#/correlationid",
                }
            },
            "securitySchemes": {
                "broker_user": {
                    "type": "userPassword",
                    "description": "A RabbitMQ user with read access to the exchanges.",
                }
            },
        },
    }


# -- files -----------------------------------------------------------------------------
def _json_text(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _yaml_text(document: Any) -> str:
    header = "# Generated by `python -m yilinctl.contract` (`make contract`); do not edit by hand.\n"
    return header + yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=100_000, default_flow_style=False
    )


def generate(types: list[EventType] | None = None) -> dict[str, str]:
    """Every contract file, as ``{path relative to the repository: text}``."""
    types = event_types() if types is None else types
    files = {
        "docs/asyncapi.yaml": _yaml_text(asyncapi_document(types)),
        "docs/events.md": catalogue_page(types),
        CLOUDEVENT_FILE: _json_text(envelope_schema()),
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
            diff = list(
                difflib.unified_diff(
                    committed[path].splitlines(),
                    generated[path].splitlines(),
                    f"committed/{path}",
                    f"generated/{path}",
                    lineterm="",
                    n=1,
                )
            )
            shown = diff[:24] + ([f"... {len(diff) - 24} more diff lines"] if len(diff) > 24 else [])
            out.append(f"differs: {path}\n" + "\n".join("    " + line for line in shown))
    return out


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
    parser = argparse.ArgumentParser(prog="python -m yilinctl.contract", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the committed contract differs from the code"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    generated = generate()
    if args.check:
        committed = committed_files(args.root)
        report = compatibility_problems(generated, committed) + differences(generated, committed)
        if report:
            print(
                "The committed event contract differs from the code; run `make contract` and commit docs/:",
                file=sys.stderr,
            )
            print("\n".join("  " + line for line in report), file=sys.stderr)
            return 1
        print(f"event contract up to date ({len(generated)} files)")
        return 0
    outcome = write(args.root, generated)
    if outcome.problems:
        print(
            "Refusing to regenerate: these changes would break subscribers of a published version. "
            "Keep the old version and define the changed schema as a new version "
            "(`@EVENTS.define(name, version=N+1)`), published beside it:",
            file=sys.stderr,
        )
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
