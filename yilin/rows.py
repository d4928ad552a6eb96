"""Looking a row up by its key, the one way every service does it: a missing row is a
404 naming the request field that pointed at it."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from yilin.errors import NotFound

Row = TypeVar("Row")


def found(row: Row | None, message: str, field: str) -> Row:
    """``row``, or :class:`NotFound` (``message``, naming ``field``) when it is ``None``."""
    if row is None:
        raise NotFound(message, {field: ["not found"]})
    return row


def get_or_404(session: Session, model: type[Row], ident: Any, field: str, what: str | None = None) -> Row:
    """The ``model`` row with primary key ``ident`` (as a string), or :class:`NotFound`
    naming ``field``; ``what`` names the thing in the message (default: the table's name
    in the singular)."""
    name = what or getattr(model, "__tablename__", model.__name__).removesuffix("s")
    return found(session.get(model, str(ident)), f"{name} {ident} does not exist", field)


def lock_or_404(session: Session, model: type[Row], ident: Any, field: str, what: str | None = None) -> Row:
    """As :func:`get_or_404`, with the row locked until the transaction ends (``SELECT …
    FOR UPDATE``) and read afresh, so a check made on it holds when the change commits."""
    name = what or getattr(model, "__tablename__", model.__name__).removesuffix("s")
    row = session.get(model, str(ident), with_for_update=True, populate_existing=True)
    return found(row, f"{name} {ident} does not exist", field)
