"""Within a version a schema only grows: the committed per-event JSON Schemas are the lock,
and the code may not remove, retype or newly require a field of a published version."""

from __future__ import annotations

import json

import pytest
from marshmallow import Schema, fields, validate

from yilin.events import EventCatalogue
from yilinctl.contract import (
    ROOT,
    breaking_changes,
    committed_files,
    compatibility_problems,
    event_types,
    generate,
    json_schema,
)


def test_code_keeps_every_committed_event_version_compatible() -> None:
    problems = compatibility_problems(generate(), committed_files())
    assert not problems, (
        "a published (type, version) changed incompatibly; define a new version beside it:\n" + "\n".join(problems)
    )


def test_every_committed_event_version_is_still_defined() -> None:
    committed = {p.name for p in (ROOT / "docs" / "events").glob("*.v*.json")}
    defined = {f"{t.name}.v{t.version}.json" for t in event_types()}
    assert committed <= defined


class Published(Schema):
    ticket_id = fields.UUID(required=True)
    minutes = fields.Integer(required=True)
    rating = fields.Integer(required=True, allow_none=True)
    note = fields.String()
    reason = fields.String(required=True, validate=validate.OneOf(["overdue", "manual"]))
    volunteers = fields.List(
        fields.Nested(
            type("V", (Schema,), {"volunteer_id": fields.UUID(required=True), "minutes": fields.Integer(required=True)})
        ),
        required=True,
    )


def _changed(**changes: fields.Field | None) -> type[Schema]:
    declared = {name: field for name, field in Published._declared_fields.items()}
    for name, field in changes.items():
        if field is None:
            declared.pop(name)
        else:
            declared[name] = field
    return Schema.from_dict(declared, name="Changed")


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"minutes": None}, "data.minutes: removed"),
        ({"minutes": fields.String(required=True)}, "data.minutes: type changed from ['integer'] to ['string']"),
        ({"minutes": fields.Decimal(as_string=True, required=True)}, "data.minutes: type changed"),
        ({"rating": fields.Integer(required=True)}, "data.rating: type changed from ['integer', 'null']"),
        ({"minutes": fields.Integer(required=True, allow_none=True)}, "data.minutes: type changed"),
        ({"ticket_id": fields.String(required=True)}, "data.ticket_id: format changed from uuid to None"),
        ({"note": fields.String(required=True)}, "data.note: became required"),
        ({"minutes": fields.Integer()}, "data.minutes: no longer required"),
        ({"team_id": fields.UUID(required=True)}, "data.team_id: added as required"),
        (
            {"reason": fields.String(required=True, validate=validate.OneOf(["manual"]))},
            "data.reason: no longer allows ['overdue']",
        ),
        ({"note": fields.String(validate=validate.OneOf(["x"]))}, "data.note: now restricted to ['x']"),
        (
            {
                "volunteers": fields.List(
                    fields.Nested(
                        type(
                            "V2",
                            (Schema,),
                            {"volunteer_id": fields.UUID(required=True), "minutes": fields.String(required=True)},
                        )
                    ),
                    required=True,
                )
            },
            "data.volunteers[].minutes: type changed",
        ),
    ],
)
def test_breaking_changes_are_caught(changes: dict[str, fields.Field | None], expected: str) -> None:
    problems = breaking_changes(json_schema(Published), json_schema(_changed(**changes)))
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    "changes",
    [
        {"team_id": fields.UUID()},  # a new optional field
        {"comment": fields.String(allow_none=True, metadata={"description": "x"})},  # another, nullable
        {"minutes": fields.Integer(required=True, metadata={"description": "Minutes served."})},  # documentation
        {
            "reason": fields.String(required=True, validate=validate.OneOf(["overdue", "manual", "dispute"]))
        },  # a new code
    ],
)
def test_additive_changes_keep_the_version(changes: dict[str, fields.Field]) -> None:
    assert breaking_changes(json_schema(Published), json_schema(_changed(**changes))) == []


def test_a_new_version_beside_the_old_one_passes_and_is_published_separately() -> None:
    """Breaking ``team.created`` the right way: v1 untouched, v2 defined beside it."""
    committed = committed_files()
    catalogue = EventCatalogue("registry")
    for t in event_types():
        catalogue.define(t.name, t.version, t.summary)(t.schema)
    v1 = json_schema(catalogue.get("team.created", 1).schema)
    v2 = Schema.from_dict(
        {
            **{k: f for k, f in catalogue.get("team.created", 1).schema._declared_fields.items() if k != "domain"},
            "domains": fields.List(fields.String(), required=True, metadata={"description": "Domain codes."}),
        },
        name="TeamCreatedV2",
    )
    catalogue.define("team.created", 2, "Published when a volunteer team is created.")(v2)
    generated = generate(list(catalogue))
    assert "docs/events/team.created.v2.json" in generated and "docs/events/team.created.v1.json" in generated
    assert compatibility_problems(generated, committed) == []
    v2_schema = json.loads(generated["docs/events/team.created.v2.json"])
    assert v2_schema["$id"] == "urn:yilin:schema:team.created:v2"  # the dataschema of v2 events
    assert breaking_changes(v1, v2_schema)  # which is why it needed a new version

    # The same change made in place, within v1, is refused.
    in_place = EventCatalogue("registry")
    for t in event_types():
        in_place.define(t.name, t.version, t.summary)(v2 if t.name == "team.created" else t.schema)
    problems = compatibility_problems(generate(list(in_place)), committed)
    assert "docs/events/team.created.v1.json: data.domain: removed" in problems
