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
