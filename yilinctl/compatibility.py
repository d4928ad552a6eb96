"""Compatibility within a published event version: what a new schema may not change."""

from __future__ import annotations

import json
from typing import Any


# -- compatibility within a version ----------------------------------------------------
def _type_set(schema: dict[str, Any]) -> frozenset[str]:
    if "const" in schema:
        return frozenset({type(schema["const"]).__name__})
    types = schema.get("type")
    if types is None:
        return frozenset({"any"})
    return frozenset(types if isinstance(types, list) else [types])


def breaking_changes(
    old: dict[str, Any], new: dict[str, Any], path: str = "data", *, new_fields_ok: bool = False
) -> list[str]:
    """What in ``new`` breaks subscribers written against ``old`` (two JSON Schemas of the
    same type and version): a field removed, retyped (nullability and format included),
    made required or no longer required, a required field added, or an allowed value
    dropped. A new optional field, a new description or a new allowed value is fine.
    ``new_fields_ok`` also allows a new required field, for documents only ever read (an
    HTTP response): a reader ignores what it does not know."""
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
        problems += breaking_changes(old["items"], new.get("items", {}), path + "[]", new_fields_ok=new_fields_ok)
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
        problems += breaking_changes(sub, new_props[key], where, new_fields_ok=new_fields_ok)
    for key in sorted(set(new_props) - set(old_props)):
        if key in new_required and not new_fields_ok:
            problems.append(f"{path}.{key}: added as required (add it as optional, or publish a new version)")
    return problems


def payload_of(document: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` schema in a committed per-event file: the file itself, or, in a file
    written before CloudEvents (the whole first envelope), its ``data`` property."""
    if "$id" in document:
        return document
    data: dict[str, Any] = document["properties"]["data"]
    return data


def compatibility_problems(generated: dict[str, str], committed: dict[str, str]) -> list[str]:
    """Breaking changes of the code against the committed per-event schemas, which act
    as the lock of each published ``(type, version)``."""
    problems = []
    for path, text in sorted(committed.items()):
        if not path.startswith("docs/events/") or path.endswith(("envelope.json", "cloudevent.json")):
            continue
        if path not in generated:
            problems.append(
                f"{path}: the code no longer defines this event version (retiring a version after its "
                "deprecation window: delete the file by hand in the same change)"
            )
            continue
        old, new = payload_of(json.loads(text)), payload_of(json.loads(generated[path]))
        problems += [f"{path}: {p}" for p in breaking_changes(old, new)]
    return problems
