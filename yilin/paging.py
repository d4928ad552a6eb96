"""Keyset pagination shared by every list endpoint: ``?limit=&cursor=`` in, ``{items,
next_cursor}`` out. A cursor is the last id of the previous page, so deep pages cost
the same as the first."""

from __future__ import annotations

from functools import cache
from typing import Any, Callable, Sequence

from marshmallow import Schema, fields, validate
from sqlalchemy import Select
from sqlalchemy.orm import Session

MAX_PAGE = 200


class PageQuery(Schema):
    """Base of every list query schema."""

    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PAGE))
    cursor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


@cache
def page_schema(item: type[Schema]) -> type[Schema]:
    """The response schema of a list of ``item``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
        },
        name=f"{item.__name__}Page",
    )


def paginate(
    session: Session,
    query: Select[Any],
    id_column: Any,
    limit: int,
    cursor: str | None,
    render: Callable[[Sequence[Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``query`` one page at a time ordered by ``id_column``."""
    if cursor:
        query = query.where(id_column > cursor)
    rows = session.scalars(query.order_by(id_column).limit(limit + 1)).all()
    return page(rows, limit, lambda row: getattr(row, id_column.key), render)


def page(
    rows: Sequence[Any],
    limit: int,
    id_of: Callable[[Any], Any],
    render: Callable[[Sequence[Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """The page of ``rows`` fetched in id order after the cursor with ``LIMIT limit + 1``
    (the extra row only tells that there is a next page), for a list that runs its own
    prepared statement instead of :func:`paginate`."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": render(rows), "next_cursor": str(id_of(rows[-1])) if more else None}
