"""JSON aggregation in SQL, compiled for PostgreSQL (``json_agg``, ``json_build_object``)
and SQLite (``json_group_array``, ``json_object``).

A record and its child rows then come back in one statement (one round trip) instead of
one query per child table: ``select(parent, json_array_agg(json_object(kind=..., number=...)))``. The
result column is typed JSON, so both drivers hand back Python lists and dicts. Values
inside come back as JSON values: dates as ISO strings. Over no rows PostgreSQL's
aggregate gives NULL and SQLite's an empty array; callers treat ``None`` as empty."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class json_array_agg(FunctionElement[Any]):  # reads as the SQL function it stands for
    """The aggregate of a column's values over the group as a JSON array."""

    type = JSON()
    inherit_cache = True
    name = "json_array_agg"


class _json_object(FunctionElement[Any]):
    type = JSON()
    inherit_cache = True
    name = "json_object"


def json_object(**members: Any) -> _json_object:
    """A JSON object of the given members: ``json_object(kind=Certification.kind)``."""
    return _json_object(*[part for key, value in members.items() for part in (literal(key, String), value)])


def _spell(element: type[FunctionElement[Any]], postgresql: str, sqlite: str) -> None:
    """Render ``element`` as the function named ``postgresql`` there, ``sqlite`` elsewhere."""
    for dialect, name in (("postgresql", postgresql), (None, sqlite)):

        def render(element: FunctionElement[Any], compiler: Any, name: str = name, **kw: Any) -> str:
            return f"{name}({compiler.process(element.clauses, **kw)})"

        compiles(element, *([dialect] if dialect else []))(render)


_spell(json_array_agg, "json_agg", "json_group_array")
_spell(_json_object, "json_build_object", "json_object")
