"""docs/asyncapi.yaml validates with the reference AsyncAPI parser (Node, offline), and a
broken copy does not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker

from yilinctl.contract import ROOT, event_types, message_id, schema_filename

TOOL = ROOT / "tools" / "asyncapi"
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
Validate = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def asyncapi_validate() -> Validate:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20+ is required to validate docs/asyncapi.yaml (apt-get install nodejs npm)")
    major = int(
        subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
        .stdout.strip()
        .lstrip("v")
        .split(".")[0]
    )
    assert major >= 20, f"Node.js 20+ is required, found v{major}"
    if not (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is required to install the pinned AsyncAPI parser (tools/asyncapi)")
        # The lock file pins every package; install scripts stay off (one of them only phones home).
        subprocess.run(
            [npm, "ci", "--prefix", str(TOOL), "--ignore-scripts", "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
            env={**os.environ, "SCARF_ANALYTICS": "false"},
        )

    def run(*paths: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [node, str(TOOL / "validate.mjs"), *map(str, paths)], capture_output=True, text=True, timeout=120
        )

    return run


def test_the_document_validates(asyncapi_validate: Validate) -> None:
    result = asyncapi_validate(DOCUMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid AsyncAPI 3.0.0" in result.stdout
    assert "error" not in result.stdout + result.stderr and "warning" not in result.stdout + result.stderr


def _break_payload_reference(doc: dict[str, Any]) -> str:
    message = next(iter(doc["components"]["messages"].values()))
    message["payload"] = {"$ref": "#/components/schemas/no.such.schema"}
    return "no.such.schema"


def _break_operation(doc: dict[str, Any]) -> str:
    operation = next(iter(doc["operations"].values()))
    operation["action"] = "publish"  # AsyncAPI 2 vocabulary; 3.0 has send and receive
    return "action"


def _break_info(doc: dict[str, Any]) -> str:
    del doc["info"]["title"]
    return "title"


def test_a_broken_document_fails(asyncapi_validate: Validate, tmp_path: Path) -> None:
    """Each copy carries one breakage; all are checked in one run of the parser."""
    copies = {}
    for breakage in (_break_payload_reference, _break_operation, _break_info):
        document = yaml.safe_load(DOCUMENT.read_text())
        needle = breakage(document)
        path = tmp_path / f"{breakage.__name__}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        copies[path] = needle
    result = asyncapi_validate(*copies)
    assert result.returncode == 1, result.stdout
    for path, needle in copies.items():
        errors = [line for line in result.stderr.splitlines() if line.startswith(f"{path}: ")]
        assert f"{path}: INVALID" in errors[-1] and any(needle in e for e in errors), result.stderr


def test_the_document_describes_every_event_as_subscribers_need_it() -> None:
    document = yaml.safe_load(DOCUMENT.read_text())
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"]["broker"]["protocol"] == "amqp"
    for t in event_types():
        exchange = f"{t.source}.events"
        channel = document["channels"][exchange]
        assert channel["address"] == exchange
        assert channel["bindings"]["amqp"]["exchange"] == {
            "name": exchange,
            "type": "topic",
            "durable": True,
            "autoDelete": False,
        }
        mid = message_id(t)
        assert channel["messages"][mid] == {"$ref": f"#/components/messages/{mid}"}
        message = document["components"]["messages"][mid]
        assert message["name"] == t.name and message["x-routing-key"] == t.name
        operation = document["operations"][f"{t.source}.{t.name}"]
        assert operation["action"] == "send" and operation["bindings"]["amqp"]["cc"] == [t.name]
        assert {"$ref": f"#/channels/{exchange}/messages/{mid}"} in operation["messages"]
        # A structured-mode CloudEvent whose attributes pin the type, source and data schema...
        assert message["contentType"] == "application/cloudevents+json"
        schema = document["components"]["schemas"][mid]
        attributes = schema["properties"]
        assert attributes["type"]["const"] == f"org.yilin.{t.name}"
        assert attributes["source"]["const"] == f"urn:yilin:service:{t.source}"
        assert attributes["dataversion"]["const"] == t.version
        # ...whose data is the per-event JSON Schema file that dataschema names.
        published = json.loads((ROOT / "docs" / "events" / schema_filename(t)).read_text())
        assert attributes["dataschema"]["const"] == published["$id"]
        [example] = published["examples"]
        data = attributes["data"]
        assert (data["properties"], data.get("required")) == (published["properties"], published.get("required"))
        assert message["examples"][0]["payload"]["data"] == example
        assert not list(
            Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(message["examples"][0]["payload"])
        )
