"""Set-based writes for batch operations (the volunteer import inserts thousands of rows
per transaction): which keys a table holds already, and inserting many rows at once,
with ``COPY`` on PostgreSQL."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import ARRAY, Column, Dialect, Table, Text, bindparam, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

LOOKUP_CHUNK = 1000  # keys per ``IN (…)``: bounded statements, whatever the batch size
# Below this many rows one ``INSERT`` costs less than a ``COPY`` (an event handler's one
# or two outbox rows take the ``INSERT`` path: the event pipeline never waits on a COPY).
COPY_FROM_ROWS = 100


def stored(session: Session, table: Table, key: str, values: Iterable[Any], *columns: str) -> dict[Any, Any]:
    """The rows of ``table`` whose ``key`` column is one of ``values``, looked up
    ``LOOKUP_CHUNK`` keys per statement: key → the row's ``columns`` (one value for one
    column, a tuple for several; the key itself when none is named). What an
    insert-or-skip import leaves out before it builds (or encrypts) anything."""
    wanted = sorted(set(values))
    selected = [table.c[key], *(table.c[c] for c in columns)]
    found: dict[Any, Any] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        for row in session.execute(select(*selected).where(table.c[key].in_(wanted[start : start + LOOKUP_CHUNK]))):
            found[row[0]] = row[0] if not columns else row[1] if len(columns) == 1 else tuple(row[1:])
    return found


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    same: Mapping[str, Any] | None = None,
    serialised: Collection[str] = (),
) -> None:
    """Insert ``rows`` (mappings with the same keys) into ``table`` in the session's
    transaction, with the columns of ``same`` set to the same value in every row.

    On PostgreSQL, ``COPY_FROM_ROWS`` rows or more go in with one ``COPY … FROM STDIN``
    from an in-memory buffer (about half the client CPU of the ``unnest`` form, and less
    server time); fewer rows, or a table with an array column, take one
    ``INSERT … SELECT FROM unnest(…)`` with one array per column, which psycopg2 adapts
    in C. Elsewhere it is SQLAlchemy's executemany ``INSERT``. Values go through their
    column type's bind processing as they would in an ``INSERT`` (JSON is serialised,
    say). Give every column a value: on PostgreSQL the table's Python-side defaults are
    not applied. The columns named in ``serialised`` hold text their type's bind
    processing already produced (a JSON column's JSON text, say): it is written as it is.
    Errors (a unique violation, say) surface as SQLAlchemy's exceptions whichever the
    path, and leave nothing of the batch."""
    if not rows:
        return
    same = dict(same or {})
    names = list(rows[0])
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql" or any(isinstance(table.c[n].type, ARRAY) for n in [*names, *same]):
        # as text, past the column type's processing (a JSON column stores its text as it is)
        raw = {n: bindparam(n, type_=Text()) for n in serialised}
        session.execute(insert(table).values(raw) if raw else insert(table), [{**row, **same} for row in rows])
    elif len(rows) >= COPY_FROM_ROWS:
        _copy_rows(session, table, rows, names, same, dialect, serialised)
    else:
        _unnest_rows(session, table, rows, names, same, dialect, serialised=serialised)


def _unnest_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    names: list[str],
    same: dict[str, Any],
    dialect: Dialect,
    tail: str = "",
    serialised: Collection[str] = (),
) -> Any:
    quote = dialect.identifier_preparer
    # A constant is one parameter, not an array of copies (a timestamp costs the driver
    # as much to adapt as a whole row of text).
    arrays = ", ".join(array_cast(table.c[name], f"a{i}", dialect) for i, name in enumerate(names))
    constants = "".join(
        f", CAST(:s{i} AS {table.c[name].type.compile(dialect=dialect)})" for i, name in enumerate(same)
    )
    statement = text(
        f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(n) for n in [*names, *same])}) "
        f"SELECT *{constants} FROM unnest({arrays}){tail}"
    )
    params = column_arrays(table, names, rows, dialect, serialised)
    for i, (name, value) in enumerate(same.items()):
        process = _bind_processor(table.c[name], dialect)
        params[f"s{i}"] = value if process is None else process(value)
    return session.execute(statement, params)


def insert_absent_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    same: Mapping[str, Any] | None = None,
    returning: str | None = None,
) -> list[Any]:
    """On PostgreSQL, ``rows`` (mappings with the same keys; the columns of ``same`` set
    to the same value in every row) as one ``INSERT … SELECT FROM unnest(…) ON CONFLICT
    DO NOTHING``: rows whose key exists already are skipped. With ``returning``, the
    values of that column in the rows inserted (else an empty list)."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    tail = " ON CONFLICT DO NOTHING"
    if returning is not None:
        tail += f" RETURNING {dialect.identifier_preparer.quote(returning)}"
    result = _unnest_rows(session, table, rows, list(rows[0]), dict(same or {}), dialect, tail)
    return list(result.scalars()) if returning is not None else []


def array_cast(column: Column[Any], param: str, dialect: Dialect) -> str:
    """The SQL of parameter ``param`` cast to an array of ``column``'s type."""
    return f"CAST(:{param} AS {column.type.compile(dialect=dialect)}[])"


def column_arrays(
    table: Table,
    names: list[str],
    rows: Sequence[Mapping[str, Any]],
    dialect: Dialect,
    serialised: Collection[str] = (),
) -> dict[str, Any]:
    """One list per column of ``names`` (parameters ``a0``, ``a1``, …), each value
    bind-processed as its column's type would be in an ``INSERT`` (psycopg2 adapts the
    lists as arrays); the columns of ``serialised`` are taken as they are."""
    params: dict[str, Any] = {}
    for i, name in enumerate(names):
        process = None if name in serialised else _bind_processor(table.c[name], dialect)
        params[f"a{i}"] = [row[name] for row in rows] if process is None else [process(row[name]) for row in rows]
    return params


def _copy_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    names: list[str],
    same: dict[str, Any],
    dialect: Dialect,
    serialised: Collection[str] = (),
) -> None:
    quote = dialect.identifier_preparer
    columns = [*names, *same]
    statement = f"COPY {quote.format_table(table)} ({', '.join(quote.quote(n) for n in columns)}) FROM STDIN"
    # Text format: one line a row, tab between fields, \N for NULL.
    tail = "".join("\t" + _copy_text(value, _bind_processor(table.c[n], dialect)) for n, value in same.items())
    encoders = [(name, None if name in serialised else _bind_processor(table.c[name], dialect)) for name in names]
    lines = ["\t".join([_copy_text(row[name], process) for name, process in encoders]) + tail + "\n" for row in rows]
    buffer = io.StringIO("".join(lines))
    session.flush()  # pending ORM writes reach the server before the rows that may need them
    raw = session.connection().connection.dbapi_connection
    if raw is None:  # pragma: no cover - a live session always has its connection
        raise RuntimeError("the session has no database connection")
    try:
        cursor = raw.cursor()
        try:
            with _copy_allowed():
                cursor.copy_expert(statement, buffer)
        finally:
            cursor.close()
    except Exception as exc:
        module = dialect.loaded_dbapi
        if isinstance(exc, module.Error):
            # As SQLAlchemy would raise it from execute(): IntegrityError for a unique
            # violation, and so on (the transaction is aborted either way).
            raise DBAPIError.instance(statement, None, exc, module.Error) from exc
        raise


@contextmanager
def _copy_allowed() -> Iterator[None]:
    """psycopg2 refuses ``COPY`` while a wait callback is installed (eventlet's
    ``monkey_patch`` installs one, to make queries cooperative). Lift it for the one
    call: the ``COPY`` then runs without yielding, so no other green thread issues a
    query meanwhile, and the callback is back before any can. The process stalls for
    the length of the ``COPY`` (milliseconds for a batch of thousands of rows)."""
    from psycopg2 import extensions

    waiting = extensions.get_wait_callback()
    if waiting is None:
        yield
        return
    extensions.set_wait_callback(None)
    try:
        yield
    finally:
        extensions.set_wait_callback(waiting)


def _copy_text(value: Any, process: Callable[[Any], Any] | None) -> str:
    """One value as a field of ``COPY``'s text format."""
    if process is not None:
        value = process(value)
    if type(value) is str:  # most fields: checked for the four special characters in one scan
        return _escape(value) if _SPECIAL.search(value) else value
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    field = value if isinstance(value, str) else str(value)  # a str subclass, uuid.UUID, Decimal
    return _escape(field) if _SPECIAL.search(field) else field


_SPECIAL = re.compile(r"[\\\t\n\r]")  # what COPY's text format escapes


def _escape(field: str) -> str:
    return field.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _bind_processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column.type.dialect_impl(dialect).bind_processor(dialect)
