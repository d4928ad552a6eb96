"""The committed HTTP contract, docs/openapi.json: valid OpenAPI, exactly what the code
generates and the gateway serves, catalogues every problem type, and cannot change
incompatibly without a new ``info.version``."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import requests
from openapi_spec_validator import validate

from services.gateway.problems import BASE, CATALOGUE
from yilinctl import api_contract
from yilinctl.api_contract import PATH, ROOT, breaking_changes, compatibility_problems, document, text


def committed() -> dict[str, Any]:
    return json.loads((ROOT / PATH).read_text())


def test_committed_openapi_matches_the_code_and_is_valid() -> None:
    assert (ROOT / PATH).read_text() == text(document()), "run `make contract` and commit docs/openapi.json"
    assert (ROOT / "docs" / "problems.md").read_text() == api_contract.problems_page()
    validate(committed())


def test_the_gateway_serves_the_committed_document(stack: Any) -> None:
    s = stack("gateway")
    served = requests.get(f"{s.url}/openapi.json", timeout=10)
    assert served.status_code == 200 and served.json() == committed()


def test_every_error_response_is_a_catalogued_problem() -> None:
    doc = committed()
    assert doc["components"]["schemas"]["Problem"]["required"] == ["detail", "status", "title", "type"]
    for name, response in doc["components"]["responses"].items():
        assert list(response["content"]) == ["application/problem+json"], name
        assert response["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and status != "414":  # 414 comes from the HTTP server, bodiless
                    assert response == {"$ref": f"#/components/responses/Problem{status}"}, (method, path, status)
            assert {"500", "503"} <= set(operation["responses"]), (method, path)
            if method in ("patch", "put"):
                assert {"412", "428"} <= set(operation["responses"]), (method, path)
                assert any(p["name"] == "If-Match" and p["required"] for p in operation["parameters"]), path
                assert "ETag" in operation["responses"]["200"]["headers"], path
    page = (ROOT / "docs" / "problems.md").read_text()
    assert set(doc["components"]["x-problem-types"]) == {t.uri for t in CATALOGUE.values()}
    for kind in CATALOGUE.values():
        assert kind.uri.startswith(BASE) and f"`{kind.uri}`" in page, kind.code
        assert re.search(rf"\|\s*{kind.status}\s*\|", page), kind.status


def test_check_mode_fails_when_the_committed_document_drifts(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", root / "docs")
    assert api_contract.main(["--check", "--root", str(root)]) == 0
    edited = committed()
    edited["info"]["description"] = "edited by hand"
    (root / PATH).write_text(text(edited))
    assert api_contract.main(["--check", "--root", str(root)]) == 1
    assert api_contract.main(["--root", str(root)]) == 0  # a compatible difference: rewritten
    assert (root / PATH).read_text() == text(document())


def _body_schema(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    ref = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _ok_schema(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    ref = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_breaking_changes_are_found() -> None:
    old = committed()
    volunteer = "/api/v1/volunteers/{volunteer_id}"
    assert breaking_changes(old, copy.deepcopy(old)) == []

    removed_path = copy.deepcopy(old)
    del removed_path["paths"][volunteer]["patch"]
    assert f"PATCH {volunteer}: removed" in breaking_changes(old, removed_path)

    required_added = copy.deepcopy(old)
    body = _body_schema(required_added, "/api/v1/places", "post")
    body["properties"]["colour"] = {"type": "string"}
    body["required"] = [*body["required"], "colour"]
    assert any("colour: added as required" in p for p in breaking_changes(old, required_added))

    field_removed = copy.deepcopy(old)
    del _ok_schema(field_removed, volunteer, "get")["properties"]["status"]
    assert any("response 200.status: removed" in p for p in breaking_changes(old, field_removed))

    parameter_required = copy.deepcopy(old)
    parameter_required["paths"]["/api/v1/places"]["get"]["parameters"].append(
        {"in": "header", "name": "X-Tenant", "required": True, "schema": {"type": "string"}}
    )
    assert any("required parameter header:X-Tenant added" in p for p in breaking_changes(old, parameter_required))

    optional_added = copy.deepcopy(old)
    _body_schema(optional_added, "/api/v1/places", "post")["properties"]["note"] = {"type": "string"}
    _ok_schema(optional_added, volunteer, "get")["properties"]["note"] = {"type": "string"}
    assert breaking_changes(old, optional_added) == []


def test_a_breaking_change_needs_a_new_version(tmp_path: Path) -> None:
    old = committed()
    # The committed document has an operation the code no longer has: as if the code removed it.
    extra = copy.deepcopy(old)
    extra["paths"]["/api/v1/retired"] = {"get": copy.deepcopy(old["paths"]["/api/v1/places"]["get"])}
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / PATH).write_text(text(extra))
    assert compatibility_problems(document(), extra) == ["GET /api/v1/retired: removed"]
    assert api_contract.main(["--root", str(root)]) == 1
    assert api_contract.main(["--check", "--root", str(root)]) == 1
    assert json.loads((root / PATH).read_text()) == extra  # refused: nothing written

    # The same change with info.version raised is a new contract version: accepted.
    extra["info"]["version"] = "0.9.0"
    assert compatibility_problems(document(), extra) == []
    (root / PATH).write_text(text(extra))
    assert api_contract.main(["--root", str(root)]) == 0
    assert (root / PATH).read_text() == text(document())
