"""The compiled dump-and-check gives marshmallow's answer or none: every payload it
accepts, marshmallow accepts and dumps to the same dict."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import pytest
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, post_dump, validate, validates

from yilin.errors import MalformedInput, load, load_each, load_once_built
from yilin.events import EventCatalogue
from yilin.fields import StrictBoolean
from yilin.flatschema import compile_dump, compile_load

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


class Dated(Schema):
    entry_id = fields.String(required=True)
    served_on = fields.Date(required=True)
    until = fields.Date(allow_none=True, validate=validate.Range(min=date(2020, 1, 1)))


def test_a_date_is_dumped_as_marshmallow_dumps_it_and_anything_else_left_to_it() -> None:
    schema = Dated()
    fast = compile_dump(schema)
    assert fast is not None
    day = date(2026, 12, 5)
    variants: list[dict[str, Any]] = [
        {"entry_id": "e", "served_on": day},
        {"entry_id": "e", "served_on": day, "until": None},
        {"entry_id": "e", "served_on": day, "until": date(2021, 3, 4)},
        # declined: a datetime (marshmallow dumps its day), a string, a null, a failing validator
        {"entry_id": "e", "served_on": datetime(2026, 12, 5, 23, 30)},
        {"entry_id": "e", "served_on": "2026-12-05"},
        {"entry_id": "e", "served_on": None},
        {"entry_id": "e", "served_on": day, "until": date(2019, 12, 31)},
    ]
    answers = [fast(data) for data in variants]
    assert [a is not None for a in answers] == [True] * 3 + [False] * 4
    for data, answer in zip(variants[:3], answers):
        assert answer == _marshmallow(schema, data)
    assert answers[0] == {"entry_id": "e", "served_on": "2026-12-05"}


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


class Certificate(Schema):
    kind = fields.String(required=True, validate=validate.Regexp(r"^[a-z]+$"))
    number = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 6))
    issued_on = fields.Date(load_default=None, allow_none=True)


class Row(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 10))
    code = fields.String(required=True)
    place_id = fields.UUID(required=True)
    owner_id = fields.UUID(load_default=None, allow_none=True)
    tags = fields.List(fields.String(validate=validate.Regexp(r"^[a-z]+$")), load_default=list)
    certificates = fields.List(fields.Nested(Certificate), load_default=list, validate=validate.Length(max=2))
    member = StrictBoolean(load_default=False)
    count = fields.Integer()

    @validates("code")
    def _code(self, value: str, **_: object) -> None:
        if not value.isdigit():
            raise ValidationError("digits only")


GOOD_ROW: dict[str, Any] = {
    "name": "张三",
    "code": "123",
    "place_id": ID,
    "tags": ["a", "b"],
    "certificates": [{"kind": "first", "issued_on": "2020-02-03"}, {"kind": "second", "number": "N1"}],
    "member": True,
    "count": 3,
}
# a value for each key that marshmallow may refuse, or load differently from its look
ODD_VALUES: list[Any] = [
    None, "", "x" * 11, "12a", 1, 1.5, True, 0, "true", [], ["A"], [1], {}, ID.upper(), "{" + ID + "}",
    "2020-2-3", "2020-02-30", "20200203", [{"kind": "a", "extra": 1}], [{"kind": "a"}] * 3,
    [{"kind": "a", "number": ""}], [{"kind": "a", "issued_on": "2020-02-03T00:00"}], ("a",), "abc",
]  # fmt: skip


def _load(schema: Schema, item: Any) -> Any:
    try:
        return schema.load(item)
    except ValidationError:
        return None


def _vouched_as_marshmallow(schema: Any, fast: Any, variants: list[Any]) -> int:
    """How many ``variants`` the compiled loader answered; each answer must be exactly
    what marshmallow loads."""
    vouched = 0
    for item in variants:
        answer = fast(item)
        if answer is not None:
            vouched += 1
            assert answer == _load(schema, item), item
    return vouched


def test_a_loaded_row_is_what_marshmallow_loads_and_every_other_is_left_to_it() -> None:
    schema = Row()
    fast = compile_load(schema)
    assert fast is not None
    variants = [dict(GOOD_ROW), {k: v for k, v in GOOD_ROW.items() if k in ("name", "code", "place_id")}]
    variants += [{**GOOD_ROW, "unknown": 1}]
    variants += [{**GOOD_ROW, key: odd} for key in [*GOOD_ROW, "owner_id"] for odd in ODD_VALUES]
    variants += [{k: v for k, v in GOOD_ROW.items() if k != key} for key in GOOD_ROW]
    vouched = _vouched_as_marshmallow(schema, fast, variants)
    assert fast(variants[0]) == {
        "name": "张三",
        "code": "123",
        "place_id": uuid.UUID(ID),
        "owner_id": None,
        "tags": ["a", "b"],
        "certificates": [
            {"kind": "first", "number": None, "issued_on": date(2020, 2, 3)},
            {"kind": "second", "number": "N1", "issued_on": None},
        ],
        "member": True,
        "count": 3,
    }
    assert 20 < vouched < len(variants) - 100  # most odd values are marshmallow's to judge


def test_a_tolerant_schema_leaves_unknown_fields_out_as_marshmallow_does() -> None:
    schema = Row(unknown=EXCLUDE)  # how a consumer reads other services' events
    fast = compile_load(schema)
    assert fast is not None
    assert compile_load(Row(unknown=INCLUDE)) is None  # unknown fields kept: marshmallow's
    variants = [{**GOOD_ROW, "unknown": 1}, {**GOOD_ROW, "certificates": [{"kind": "a", "extra": 1}]}]
    variants += [{**GOOD_ROW, "unknown": 1, key: odd} for key in GOOD_ROW for odd in ODD_VALUES]
    vouched = _vouched_as_marshmallow(schema, fast, variants)
    assert fast(variants[0]) == _load(schema, GOOD_ROW)  # the unknown field left out
    assert fast(variants[1]) is None  # the nested schema still refuses its unknown fields
    assert 10 < vouched < len(variants) // 2  # most odd values are marshmallow's to judge


def test_load_each_answers_as_marshmallow_alone_does() -> None:
    rows = [dict(GOOD_ROW), {**GOOD_ROW, "code": "x"}, "not an object", {**GOOD_ROW, "member": 1}, dict(GOOD_ROW)]
    loaded, errors = load_each(Row(many=True), rows)
    assert list(loaded) == [0, 4] and loaded[0] == _load(Row(), GOOD_ROW)
    assert errors == {
        1: {"code": ["digits only"]},
        2: {"_schema": ["expected an object"]},
        3: {"member": ["Not a valid boolean."]},
    }


class Query(Schema):
    community_id = fields.UUID()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None)


def test_a_query_once_built_loads_as_marshmallow_does_with_its_errors() -> None:
    schema = Query()
    for data in ({}, {"community_id": ID, "limit": 5}, {"cursor": "abc", "limit": 100}):
        assert load_once_built(schema, data) == load(schema, data)
    for bad, field in (({"limit": 0}, "limit"), ({"community_id": "x"}, "community_id"), ({"other": 1}, "other")):
        with pytest.raises(MalformedInput) as caught:
            load_once_built(schema, bad)
        assert field in caught.value.fields
    with pytest.raises(MalformedInput):
        load_once_built(schema, ["not", "an", "object"])


def test_a_schema_narrowed_by_only_or_exclude_is_left_to_marshmallow() -> None:
    assert compile_dump(Flat(only=("number",))) is None
    assert compile_dump(Flat(exclude=("hours",))) is None
