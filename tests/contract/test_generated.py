"""The committed contract (docs/asyncapi.yaml, docs/events.md, docs/events/*.json) is
exactly what the code generates, and the marshmallow → JSON Schema conversion agrees
with marshmallow itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from marshmallow import Schema, fields, validate

from yilinctl import contract
from yilinctl.contract import ROOT, committed_files, differences, event_types, generate, json_schema


def test_committed_contract_matches_the_code() -> None:
    report = differences(generate(), committed_files())
    assert not report, "run `make contract` (python -m yilinctl.contract) and commit docs/:\n" + "\n".join(report)


def test_generation_is_deterministic() -> None:
    assert generate() == generate()


def test_every_service_with_events_is_in_the_contract() -> None:
    from services import SERVICES

    published = {t.source for t in event_types()}
    with_events = {name for name in SERVICES if (ROOT / "services" / name / "events.py").is_file()}
    assert published == with_events and "registry" in published
    document = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    assert set(document["channels"]) == {f"{s}.events" for s in with_events}
    messages = {m["name"] for m in document["components"]["messages"].values()}
    assert messages == {t.name for t in event_types()}


def test_check_mode_reports_changed_missing_and_stale_files(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", root / "docs")
    assert contract.main(["--check", "--root", str(root)]) == 0

    (root / "docs" / "events.md").write_text("edited by hand\n")
    (root / "docs" / "events" / "volunteer.updated.v1.json").unlink()
    (root / "docs" / "events" / "volunteer.retired.v1.json").write_text("{}\n")
    report = differences(generate(), committed_files(root))
    assert any(r.startswith("differs: docs/events.md") and "+# Event catalogue" in r for r in report)
    assert "missing: docs/events/volunteer.updated.v1.json" in report
    assert "stale (no longer generated): docs/events/volunteer.retired.v1.json" in report
    assert contract.main(["--check", "--root", str(root)]) == 1

    # A schema the code no longer defines is a retired version: writing refuses until
    # it is deleted by hand, then repairs the missing and edited files.
    assert contract.main(["--root", str(root)]) == 1
    assert (root / "docs" / "events.md").read_text() == "edited by hand\n"
    (root / "docs" / "events" / "volunteer.retired.v1.json").unlink()
    assert contract.main(["--root", str(root)]) == 0
    assert contract.main(["--check", "--root", str(root)]) == 0


def test_writing_refuses_to_break_a_published_version(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", root / "docs")
    lock = root / "docs" / "events" / "team.created.v1.json"
    published = json.loads(lock.read_text())
    published["properties"]["leader_id"] = {"type": "string"}  # a field the code dropped
    lock.write_text(json.dumps(published))
    before = committed_files(root)

    outcome = contract.write(root)
    assert outcome.problems == ["docs/events/team.created.v1.json: data.leader_id: removed"]
    assert committed_files(root) == before  # nothing written


def test_every_payload_field_is_documented() -> None:
    """The catalogue promises each field's meaning: every field needs
    ``metadata={"description": ...}`` in its service's events.py."""
    undocumented = [
        f"{t.source} {t.name} v{t.version}: {name}"
        for t in event_types()
        for name, schema in json_schema(t.schema)["properties"].items()
        if not schema.get("description")
    ]
    assert not undocumented, undocumented


def test_examples_validate_and_load_with_the_publishing_schema() -> None:
    for t in event_types():
        document = json.loads((ROOT / "docs" / "events" / contract.schema_filename(t)).read_text())
        [example] = document["examples"]
        errors = [e.message for e in Draft7Validator(document, format_checker=FormatChecker()).iter_errors(example)]
        assert not errors, (t.name, errors)
        assert t.schema().validate(example) == {}, t.name


def test_catalogue_page_lists_each_event_with_fields_and_example() -> None:
    page = (ROOT / "docs" / "events.md").read_text()
    for t in event_types():
        section = page.split(f"### {t.name} v{t.version}\n", 1)[1].split("\n### ", 1)[0]
        assert f"**When:** {t.summary}" in section
        assert f"**Published by** {t.source} on `{t.source}.events`, routing key `{t.name}`" in section
        for name in t.schema().fields:
            assert f"| `{name}` |" in section, (t.name, name)
        assert f'"type": "org.yilin.{t.name}"' in section and "```json" in section


# -- the converter -----------------------------------------------------------------------
class Volunteer(Schema):
    volunteer_id = fields.UUID(required=True, metadata={"description": "Volunteer id."})
    minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=1440))


class Everything(Schema):
    code = fields.String(required=True, validate=[validate.Length(2, 8), validate.Regexp(r"^[A-Z]+$")])
    kind = fields.String(required=True, allow_none=True, validate=validate.OneOf(["a", "b"]))
    count = fields.Integer(required=True, validate=validate.Range(min=0, min_inclusive=False))
    amount_fen = fields.Integer(required=True)
    paid = fields.Boolean(required=True)
    at = fields.DateTime(required=True)
    on = fields.Date(allow_none=True)
    ratio = fields.Decimal(as_string=True, required=True)
    volunteers = fields.List(fields.Nested(Volunteer), required=True, validate=validate.Length(min=1))
    lead = fields.Nested(Volunteer, allow_none=True)
    tags = fields.Dict(keys=fields.String(), values=fields.Integer())
    extra = fields.Raw(metadata={"description": "Anything."})
    secret = fields.String(load_only=True)
    renamed = fields.String(data_key="renamedKey", metadata={"unit": "minutes"})


def test_converter_covers_the_field_types_and_validators() -> None:
    schema = json_schema(Everything)
    props = schema["properties"]
    assert schema["required"] == sorted(["code", "kind", "count", "amount_fen", "paid", "at", "ratio", "volunteers"])
    assert props["code"] == {"type": "string", "minLength": 2, "maxLength": 8, "pattern": "^[A-Z]+$"}
    assert props["kind"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert props["count"] == {"type": "integer", "exclusiveMinimum": 0}
    assert props["amount_fen"]["x-unit"].startswith("fen")
    assert props["at"]["format"] == "date-time" and props["on"]["type"] == ["string", "null"]
    assert props["ratio"]["type"] == "string" and props["ratio"]["format"] == "decimal"
    volunteer = props["volunteers"]["items"]
    assert props["volunteers"]["minItems"] == 1 and volunteer["required"] == ["minutes", "volunteer_id"]
    assert volunteer["properties"]["volunteer_id"] == {
        "type": "string",
        "format": "uuid",
        "description": "Volunteer id.",
    }
    assert volunteer["properties"]["minutes"]["x-unit"].startswith("minutes")
    assert props["lead"]["type"] == ["object", "null"]
    assert props["tags"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
        "propertyNames": {"type": "string"},
    }
    assert props["extra"] == {"description": "Anything."}
    assert "secret" not in props and "renamedKey" in props and props["renamedKey"]["x-unit"].startswith("minutes")


def test_what_marshmallow_dumps_validates_and_what_it_rejects_fails() -> None:
    import datetime
    import decimal
    import uuid

    checker = Draft7Validator(json_schema(Everything), format_checker=FormatChecker())
    good = Everything().dump(
        {
            "code": "AB",
            "kind": None,
            "count": 3,
            "amount_fen": 1999,
            "paid": True,
            "at": datetime.datetime(2026, 11, 29, 9, tzinfo=datetime.timezone.utc),
            "on": datetime.date(2026, 11, 29),
            "ratio": decimal.Decimal("0.10"),
            "volunteers": [{"volunteer_id": uuid.uuid4(), "minutes": 90}],
            "lead": None,
            "tags": {"x": 1},
            "extra": [1, "two"],
            "renamed": "r",
        }
    )
    assert [e.message for e in checker.iter_errors(good)] == []
    for field, value in [
        ("code", "ab"),
        ("kind", "c"),
        ("count", 0),
        ("paid", "yes"),
        ("at", "yesterday"),
        ("ratio", 0.1),
        ("volunteers", []),
        ("volunteers", [{"volunteer_id": "x", "minutes": 90}]),
        ("volunteers", [{"volunteer_id": str(uuid.uuid4()), "minutes": 0}]),
        ("tags", {"x": "1"}),
    ]:
        assert list(checker.iter_errors({**good, field: value})), (field, value)
        if field not in ("ratio", "paid", "tags"):  # marshmallow's load is lenient with these
            assert Everything().validate({**good, field: value}), (field, value)


def test_enums_and_tuples() -> None:
    import enum

    class Channel(enum.Enum):
        phone = "电话"
        app = "app"

    class Level(enum.Enum):
        bronze = 1
        silver = 2

    props = json_schema(
        Schema.from_dict(
            {
                "by_name": fields.Enum(Channel),
                "by_value": fields.Enum(Level, by_value=True),
                "pair": fields.Tuple((fields.String(), fields.Integer())),
            }
        )
    )["properties"]
    assert props["by_name"] == {"type": "string", "enum": ["phone", "app"]}
    assert props["by_value"] == {"type": "integer", "enum": [1, 2]}
    assert props["pair"] == {
        "type": "array",
        "items": [{"type": "string"}, {"type": "integer"}],
        "minItems": 2,
        "maxItems": 2,
    }


def test_unsupported_field_fails_loudly() -> None:
    class Odd(Schema):
        computed = fields.Method("compute")

        def compute(self, obj: object) -> str:
            return "x"

    with pytest.raises(TypeError, match="computed"):
        json_schema(Odd)
