"""The compiled dump-and-check gives marshmallow's answer or none: every payload it
accepts, marshmallow accepts and dumps to the same dict."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates

from yilin.events import EventCatalogue
from yilin.flatschema import compile_dump

ID = "6f1c7a52-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


class Flat(Schema):
    volunteer_id = fields.UUID(required=True)
    number = fields.String(required=True)
    skills = fields.List(fields.String(), required=True, validate=validate.Length(max=2))
    status = fields.String(required=True, validate=validate.OneOf(["active", "left"]))
    hours = fields.Integer(allow_none=True)
    member = fields.Boolean()
    team_ids = fields.List(fields.UUID())


PAYLOADS: list[dict[str, Any]] = [
    {"volunteer_id": ID, "number": "YL1", "skills": ["a"], "status": "active"},
    {"volunteer_id": uuid.UUID(ID), "number": "YL1", "skills": ("a", "b"), "status": "left", "hours": 3},
    {"volunteer_id": ID, "number": "YL1", "skills": [], "status": "active", "hours": None, "member": True},
    {"volunteer_id": ID, "number": "YL1", "skills": [], "status": "active", "team_ids": [ID, uuid.UUID(ID)]},
    {"volunteer_id": ID, "number": "YL1", "skills": [], "status": "active", "extra": "dropped by dump"},
    # each of these marshmallow refuses, or the compiled check declines to judge
    {"volunteer_id": "not-a-uuid", "number": "YL1", "skills": [], "status": "active"},
    {"volunteer_id": ID, "number": "YL1", "skills": [], "status": "gone"},
    {"volunteer_id": ID, "number": "YL1", "skills": ["a", "b", "c"], "status": "active"},
    {"volunteer_id": ID, "number": None, "skills": [], "status": "active"},
    {"volunteer_id": ID, "skills": [], "status": "active"},
    {"volunteer_id": ID, "number": 7, "skills": [], "status": "active"},
    {"volunteer_id": ID, "number": "YL1", "skills": [1], "status": "active"},
    {"volunteer_id": ID, "number": "YL1", "skills": "ab", "status": "active"},
    {"volunteer_id": ID, "number": "YL1", "skills": [], "status": "active", "hours": True},
    {"volunteer_id": ID, "number": "YL1", "skills": [], "status": "active", "hours": "3"},
    {"volunteer_id": ID, "number": "YL1", "skills": [], "status": "active", "member": 1},
    {"volunteer_id": ID, "number": "YL1", "skills": [], "status": "active", "team_ids": ["x"]},
]


def _marshmallow(schema: Schema, data: dict[str, Any]) -> dict[str, Any] | None:
    try:
        dumped = schema.dump(data)
    except (TypeError, ValueError, AttributeError):
        return None
    return None if schema.validate(dumped) else dumped


@pytest.mark.parametrize("data", PAYLOADS)
def test_an_accepted_payload_is_dumped_as_marshmallow_dumps_it(data: dict[str, Any]) -> None:
    schema = Flat()
    fast = compile_dump(schema)
    assert fast is not None
    answer = fast(data)
    if answer is not None:
        assert answer == _marshmallow(schema, data)
        assert list(answer) == list(schema.dump(data))  # same keys in the same order


def test_the_usual_payloads_are_compiled_and_the_doubtful_ones_left_to_marshmallow() -> None:
    fast = compile_dump(Flat())
    assert fast is not None
    accepted = [fast(data) is not None for data in PAYLOADS]
    assert accepted == [True] * 5 + [False] * (len(PAYLOADS) - 5)
    assert fast(PAYLOADS[1]) == {
        "volunteer_id": ID,
        "number": "YL1",
        "skills": ["a", "b"],
        "status": "left",
        "hours": 3,
    }


class Hooked(Schema):
    name = fields.String(required=True)

    @post_dump
    def upper(self, data: dict[str, Any], **_: object) -> dict[str, Any]:
        return {"name": data["name"].upper()}


class Checked(Schema):
    name = fields.String(required=True)

    @validates("name")
    def check(self, value: str, **_: object) -> None:
        if value == "x":
            raise ValidationError("no")


class Nested(Schema):
    inner = fields.Nested(Flat)


class Renamed(Schema):
    name = fields.String(data_key="Name")


class Defaulted(Schema):
    name = fields.String(dump_default="n")


@pytest.mark.parametrize("schema", [Hooked, Checked, Nested, Renamed, Defaulted])
def test_a_schema_it_cannot_follow_is_not_compiled(schema: type[Schema]) -> None:
    assert compile_dump(schema()) is None


def test_an_event_type_answers_the_same_either_way() -> None:
    catalogue = EventCatalogue("test")
    catalogue.define("flat.done")(Flat)
    catalogue.define("hooked.done")(Hooked)
    assert catalogue.envelope("flat.done", dict(PAYLOADS[1]), None).data["volunteer_id"] == ID
    assert catalogue.envelope("hooked.done", {"name": "a"}, None).data == {"name": "A"}
    with pytest.raises(ValueError, match="status"):
        catalogue.envelope("flat.done", dict(PAYLOADS[6]), None)
