"""Checks a message seen on the broker against the committed contract (docs/events/)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

from yilin.events import CONTENT_TYPE, SOURCE_PREFIX, TYPE_PREFIX
from yilinctl.contract import ROOT

EVENTS_DIR = ROOT / "docs" / "events"


@lru_cache(maxsize=None)
def schemas_by_id() -> dict[str, tuple[str, dict[str, Any]]]:
    """Every committed per-event JSON Schema by its ``$id`` (what ``dataschema`` names),
    with its file name."""
    out = {}
    for path in sorted(EVENTS_DIR.glob("*.v*.json")):
        schema = json.loads(path.read_text())
        out[schema["$id"]] = (path.name, schema)
    return out


@lru_cache(maxsize=None)
def data_validator(dataschema: str) -> Draft7Validator | None:
    """The validator of the schema whose ``$id`` is ``dataschema``, if one is committed."""
    found = schemas_by_id().get(dataschema)
    return Draft7Validator(found[1], format_checker=FormatChecker()) if found else None


@lru_cache(maxsize=None)
def envelope_validator() -> Draft7Validator:
    schema = json.loads((EVENTS_DIR / "cloudevent.json").read_text())
    return Draft7Validator(schema, format_checker=FormatChecker())


def _utc_problems(where: str, properties: dict[str, Any], values: dict[str, Any]) -> list[str]:
    # The contract promises UTC: an offset such as +08:00 is valid RFC 3339 but breaks the promise.
    return [
        f"{where}{key}: {values[key]!r} is not in UTC"
        for key, sub in properties.items()
        if sub.get("format") == "date-time"
        and isinstance(values.get(key), str)
        and not values[key].endswith(("Z", "+00:00"))
    ]


def contract_problems(message: dict[str, Any]) -> list[str]:
    """Why a tapped message (``tests.harness.EventTap`` record) breaks the contract: it must
    be a structured-mode CloudEvent valid against docs/events/cloudevent.json, travel on
    ``<service>.events`` with its type (without the prefix) as routing key, and its
    ``data`` must validate against the committed schema its ``dataschema`` names, give
    its times in UTC and carry no field that schema does not declare."""
    raw = message["raw"]
    body = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    if not isinstance(body, dict):
        return [f"body is not a JSON object: {raw!r}"]
    problems = []
    if message["content_type"] != CONTENT_TYPE:
        problems.append(f"content type {message['content_type']!r}")
    envelope = envelope_validator()
    problems += [f"{'/'.join(map(str, e.absolute_path)) or '(event)'}: {e.message}" for e in envelope.iter_errors(body)]
    kind, source = str(body.get("type", "")), str(body.get("source", ""))
    if message["routing_key"] != kind.removeprefix(TYPE_PREFIX):
        problems.append(f"routing key {message['routing_key']!r} is not the type {kind!r} without its prefix")
    if message["exchange"] != f"{source.removeprefix(SOURCE_PREFIX)}.events":
        problems.append(f"published on {message['exchange']!r}, not by its source {source!r}")
    problems += _utc_problems("", envelope.schema["properties"], body)
    check = data_validator(str(body.get("dataschema")))
    if check is None:
        return problems + [f"no committed schema has $id {body.get('dataschema')!r}"]
    expected = f"{message['routing_key']}.v{body.get('dataversion')}.json"
    if schemas_by_id()[str(body["dataschema"])][0] != expected:
        problems.append(f"dataschema {body['dataschema']!r} is not docs/events/{expected}")
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    problems += [f"data/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(data)]
    problems += _utc_problems("data/", check.schema["properties"], data)
    extra = sorted(set(data) - set(check.schema["properties"]))
    if extra:
        problems.append(f"data has undeclared fields {extra}")
    return problems
