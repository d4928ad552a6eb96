"""Every request body is strict where JSON Schema is: a body is validated (once, by the
service that owns it, or by the gateway for its own handlers) with the same schemas that
generate /openapi.json, so an integer field that took "5", or a boolean that
took 0, accepted requests the document forbids (the fuzzer found three). Minutes, money
and counts are integers (money in fen, or yuan strings), never floats."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from marshmallow import Schema, fields

from services.gateway import routes  # noqa: F401 - registers the routes
from services.gateway.routing import ROUTER
from yilin.errors import InvalidInput, load
from yilin.fields import StrictBoolean

BODIES = sorted({r.body for r in ROUTER.routes if r.body is not None}, key=lambda s: s.__name__)


def walk(schema: Schema, path: str = "") -> Iterator[tuple[str, fields.Field]]:
    for name, field in schema.fields.items():
        where = f"{path}{field.data_key or name}"
        yield where, field
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from walk(inner.schema, where + ".")


@pytest.mark.parametrize("body", BODIES, ids=lambda s: s.__name__)
def test_body_fields_are_strict(body: type[Schema]) -> None:
    loose = [
        (where, type(field).__name__)
        for where, field in walk(body())
        if (isinstance(field, fields.Integer) and not field.strict)
        or (isinstance(field, fields.Boolean) and not isinstance(field, StrictBoolean))
        or isinstance(field, (fields.Float, fields.Decimal))
    ]
    assert loose == []


def test_every_body_route_is_covered() -> None:
    assert len(BODIES) >= 25  # registry, tickets, hours and fund bodies


@pytest.mark.parametrize(
    "schema, body, field",
    [
        ("CategoryPatch", {"active": 0}, "active"),
        ("SelectionIn", {"selected": 1}, "selected"),
        (
            "EnterpriseIn",
            {
                "code": "E",
                "name": "e",
                "community_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd",
                "owner_organisation_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd",
                "contribution_rate_bp": "500",
            },
            "contribution_rate_bp",
        ),
        (
            "ProfitReportIn",
            {
                "enterprise_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd",
                "fiscal_year": 2025,
                "net_profit": 1234.5,
                "transfer_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd",
            },
            "net_profit",
        ),
        (
            "ResolveIn",
            {"volunteers": [{"volunteer_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd", "minutes": "30"}]},
            "volunteers",
        ),
        (
            "SheetIn",
            {
                "organisation_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd",
                "activity": "a",
                "served_on": "2025-01-01",
                "place": "p",
                "community_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd",
                "content": "c",
                "entries": [{"volunteer_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd", "minutes": 30.0}],
            },
            "entries",
        ),
    ],
)
def test_loose_values_are_refused_naming_the_field(schema: str, body: dict[str, Any], field: str) -> None:
    [cls] = [b for b in BODIES if b.__name__ == schema]
    with pytest.raises(InvalidInput) as refused:
        load(cls(), body)
    assert field in refused.value.fields
