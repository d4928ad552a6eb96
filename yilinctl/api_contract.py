"""The published HTTP contract, ``docs/openapi.json``, generated from the gateway's route
table and the marshmallow schemas that validate, beside the event contract
(``yilinctl.contract``).

``python -m yilinctl.api_contract`` writes it; ``--check`` writes nothing and exits 1
when the committed document differs from the code. Both refuse a change that breaks
clients of the committed document (see :func:`breaking_changes`) unless ``info.version``
is raised with it (``services.gateway.openapi.API_VERSION``)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from yilinctl.compatibility import breaking_changes as schema_changes

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # nameko imported by the gateway

ROOT = Path(__file__).resolve().parent.parent
PATH = "docs/openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def document() -> dict[str, Any]:
    """The OpenAPI document of the gateway as the code defines it."""
    from services.gateway import routes  # noqa: F401 - registers the routes
    from services.gateway.openapi import build_openapi
    from services.gateway.routing import ROUTER

    return build_openapi(ROUTER)


def text(doc: dict[str, Any]) -> str:
    """The committed form: sorted keys, two-space indents, a final newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- compatibility ----------------------------------------------------------------------
def _resolve(doc: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``$ref`` into the document replaced by its target (a cycle is
    cut at its second visit)."""
    if isinstance(node, list):
        return [_resolve(doc, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if ref in seen:
            return {}
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _resolve(doc, target, (*seen, ref))
    return {key: _resolve(doc, value, seen) for key, value in node.items()}


def _json_schema(doc: dict[str, Any], content: dict[str, Any] | None) -> dict[str, Any] | None:
    media = (content or {}).get("application/json")
    return _resolve(doc, media["schema"]) if media and "schema" in media else None


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, item in doc.get("paths", {}).items()
        for method, op in item.items()
        if method in METHODS
    }


def _parameters(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{p['in']}:{p['name']}": p for p in (_resolve(doc, q) for q in op.get("parameters", []))}


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in ``new`` breaks a client written against ``old`` (two OpenAPI documents): an
    operation removed; a parameter removed, added as required or made required; in a
    request body or a success response, a field removed, retyped, made required or no
    longer required, a required field added, or an allowed value dropped (the rules of
    :func:`yilinctl.compatibility.breaking_changes`); a success status changed."""
    problems: list[str] = []
    old_ops, new_ops = _operations(old), _operations(new)
    for name, old_op in sorted(old_ops.items()):
        new_op = new_ops.get(name)
        if new_op is None:
            problems.append(f"{name}: removed")
            continue
        old_params, new_params = _parameters(old, old_op), _parameters(new, new_op)
        for key, param in sorted(old_params.items()):
            if key not in new_params:
                problems.append(f"{name}: parameter {key} removed")
            elif new_params[key].get("required") and not param.get("required"):
                problems.append(f"{name}: parameter {key} became required")
        for key, param in sorted(new_params.items()):
            if key not in old_params and param.get("required"):
                problems.append(f"{name}: required parameter {key} added")
        old_body = _json_schema(old, old_op.get("requestBody", {}).get("content"))
        new_body = _json_schema(new, new_op.get("requestBody", {}).get("content"))
        if old_body is not None and new_body is not None:
            problems += [f"{name}: {p}" for p in schema_changes(old_body, new_body, "request")]
        elif new_body is not None and new_op.get("requestBody", {}).get("required"):
            problems.append(f"{name}: a request body is now required")
        old_ok = {s: r for s, r in old_op.get("responses", {}).items() if s.startswith("2")}
        new_ok = {s: r for s, r in new_op.get("responses", {}).items() if s.startswith("2")}
        for status, response in sorted(old_ok.items()):
            if status not in new_ok:
                problems.append(f"{name}: response {status} removed")
                continue
            old_schema = _json_schema(old, _resolve(old, response).get("content"))
            new_schema = _json_schema(new, _resolve(new, new_ok[status]).get("content"))
            if old_schema is not None:
                problems += [f"{name}: {p}" for p in schema_changes(old_schema, new_schema or {}, f"response {status}")]
    return problems


def compatibility_problems(generated: dict[str, Any], committed: dict[str, Any] | None) -> list[str]:
    """The breaking changes of ``generated`` against ``committed``, unless it raises ``info.version``."""
    if committed is None:
        return []
    if generated["info"]["version"] != committed["info"]["version"]:
        return []  # a new version of the contract: clients were told
    return breaking_changes(committed, generated)


def committed(root: Path = ROOT) -> str | None:
    """The committed document's text, or None."""
    path = root / PATH
    return path.read_text() if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yilinctl.api_contract", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if docs/openapi.json is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    doc = document()
    generated = text(doc)
    old_text = committed(args.root)
    problems = compatibility_problems(doc, json.loads(old_text) if old_text else None)
    if problems:
        print(
            f"The API changed incompatibly with {PATH} (info.version {doc['info']['version']}); raise "
            "API_VERSION in services/gateway/openapi.py, or keep the old shape:",
            file=sys.stderr,
        )
        print("\n".join("  " + p for p in problems), file=sys.stderr)
        return 1
    if args.check:
        if old_text != generated:
            print(f"{PATH} differs from the code; run `make contract` and commit it", file=sys.stderr)
            return 1
        print(f"{PATH} up to date")
        return 0
    if old_text != generated:
        (args.root / PATH).write_text(generated)
        print(f"wrote {PATH}")
    else:
        print(f"{PATH} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
