"""Checks a message seen on the broker against the committed contract (docs/events/)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

from yilinctl.contract import ROOT

EVENTS_DIR = ROOT / "docs" / "events"


@lru_cache(maxsize=None)
def validator(event_type: str, version: int) -> Draft7Validator | None:
    path = EVENTS_DIR / f"{event_type}.v{version}.json"
    if not path.is_file():
        return None
    return Draft7Validator(json.loads(path.read_text()), format_checker=FormatChecker())


def contract_problems(message: dict[str, Any]) -> list[str]:
    """Why a tapped message (``tests.harness.EventTap`` record) breaks the contract: its
    JSON body must validate against the schema of its type and version, give its times in
    UTC, carry no field the schema does not declare, and travel on ``<source>.events`` with its type as
    routing key."""
    raw = message["raw"]
    body = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    if not isinstance(body, dict):
        return [f"body is not a JSON object: {raw!r}"]
    problems = []
    if message["content_type"] != "application/json":
        problems.append(f"content type {message['content_type']!r}")
    if message["routing_key"] != body.get("type"):
        problems.append(f"routing key {message['routing_key']!r} is not the type {body.get('type')!r}")
    if message["exchange"] != f"{body.get('source')}.events":
        problems.append(f"published on {message['exchange']!r}, not {body.get('source')}.events")
    check = validator(str(body.get("type")), body.get("version"))  # type: ignore[arg-type]  # a bad version is the case under test
    if check is None:
        return problems + [f"no committed schema docs/events/{body.get('type')}.v{body.get('version')}.json"]
    problems += [f"{'/'.join(map(str, e.absolute_path)) or '(envelope)'}: {e.message}" for e in check.iter_errors(body)]
    # The contract promises UTC: an offset such as +08:00 is valid RFC 3339 but breaks the promise.
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    for where, properties, values in (
        ("", check.schema["properties"], body),
        ("data/", check.schema["properties"]["data"]["properties"], data),
    ):
        for key, sub in properties.items():
            value = values.get(key)
            if sub.get("format") == "date-time" and isinstance(value, str) and not value.endswith(("Z", "+00:00")):
                problems.append(f"{where}{key}: {value!r} is not in UTC")
    declared = set(check.schema["properties"]["data"]["properties"])
    extra = sorted(set(body.get("data") or {}) - declared)
    if extra:
        problems.append(f"data has undeclared fields {extra}")
    return problems
