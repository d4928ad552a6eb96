"""Set-based writes for batch operations (the volunteer import inserts thousands of rows
per transaction)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy import ARRAY, JSON, Table, insert, text
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                same: Mapping[str, Any] | None = None) -> None:
    """Insert ``rows`` (mappings with the same keys) into ``table`` in the session's
    transaction, with the columns of ``same`` set to the same value in every row.

    On PostgreSQL this is one ``INSERT … SELECT FROM unnest(…)`` with one array per
    column: one statement of fixed size, whose arrays psycopg2 adapts in C, where
    SQLAlchemy's executemany would build and render a ``VALUES`` tuple per row in
    Python. Elsewhere, or when a column holds JSON or arrays, it is SQLAlchemy's
    executemany ``INSERT``. Give every column a value: on PostgreSQL the table's
    Python-side defaults are not applied. Errors (a unique violation, say) surface as
    SQLAlchemy's exceptions either way."""
    if not rows:
        return
    same = dict(same or {})
    names = list(rows[0])
    columns = [table.c[name] for name in [*names, *same]]
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql" or any(isinstance(c.type, (JSON, ARRAY)) for c in columns):
        session.execute(insert(table), [{**row, **same} for row in rows])
        return
    quote = dialect.identifier_preparer

    def sql_type(name: str) -> str:
        return table.c[name].type.compile(dialect=dialect)

    # A constant is one parameter, not an array of copies (a timestamp costs the driver
    # as much to adapt as a whole row of text).
    arrays = ", ".join(f"CAST(:a{i} AS {sql_type(name)}[])" for i, name in enumerate(names))
    constants = "".join(f", CAST(:s{i} AS {sql_type(name)})" for i, name in enumerate(same))
    statement = text(f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(c.name) for c in columns)}) "
                     f"SELECT *{constants} FROM unnest({arrays})")
    params = {f"a{i}": [row[name] for row in rows] for i, name in enumerate(names)}
    params.update({f"s{i}": value for i, value in enumerate(same.values())})
    session.execute(statement, params)
