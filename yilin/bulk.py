"""Set-based writes for batch operations (the volunteer import inserts thousands of rows
per transaction)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import ARRAY, Dialect, Table, insert, text
from sqlalchemy.orm import Session


def insert_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], same: Mapping[str, Any] | None = None
) -> None:
    """Insert ``rows`` (mappings with the same keys) into ``table`` in the session's
    transaction, with the columns of ``same`` set to the same value in every row.

    On PostgreSQL this is one ``INSERT … SELECT FROM unnest(…)`` with one array per
    column: one statement of fixed size, whose arrays psycopg2 adapts in C, where
    SQLAlchemy's executemany would build and render a ``VALUES`` tuple per row in
    Python. Values go through their column type's bind processing as they would in an
    ``INSERT`` (JSON is serialised, say). Elsewhere, or when a column is an array, it is
    SQLAlchemy's executemany ``INSERT``. Give every column a value: on PostgreSQL the
    table's Python-side defaults are not applied. Errors (a unique violation, say)
    surface as SQLAlchemy's exceptions either way."""
    if not rows:
        return
    same = dict(same or {})
    names = list(rows[0])
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql" or any(isinstance(table.c[n].type, ARRAY) for n in [*names, *same]):
        session.execute(insert(table), [{**row, **same} for row in rows])
        return
    quote = dialect.identifier_preparer

    def cast(param: str, name: str, suffix: str = "") -> str:
        return f"CAST(:{param} AS {table.c[name].type.compile(dialect=dialect)}{suffix})"

    # A constant is one parameter, not an array of copies (a timestamp costs the driver
    # as much to adapt as a whole row of text).
    arrays = ", ".join(cast(f"a{i}", name, "[]") for i, name in enumerate(names))
    constants = "".join(", " + cast(f"s{i}", name) for i, name in enumerate(same))
    statement = text(
        f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(n) for n in [*names, *same])}) "
        f"SELECT *{constants} FROM unnest({arrays})"
    )
    params: dict[str, Any] = {}
    for i, name in enumerate(names):
        process = _bind_processor(table, name, dialect)
        params[f"a{i}"] = [row[name] for row in rows] if process is None else [process(row[name]) for row in rows]
    for i, (name, value) in enumerate(same.items()):
        process = _bind_processor(table, name, dialect)
        params[f"s{i}"] = value if process is None else process(value)
    session.execute(statement, params)


def _bind_processor(table: Table, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    column_type = table.c[name].type
    return column_type.dialect_impl(dialect).bind_processor(dialect)
