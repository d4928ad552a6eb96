"""What every part of the registry's store shares: the session it works in, and the
questions any table with a code answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

# Turns one page of rows into the views a list answers with (it may read more through the store).
Render = Callable[[Sequence[Any]], list[dict[str, Any]]]


class StoreBase:
    """The session every statement of one store runs in."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def code_taken(self, model: Any, code: str) -> bool:
        """Whether a row of ``model`` (places, organisations, teams, cadres) has ``code``; locks nothing."""
        return self.session.scalar(select(model.id).where(model.code == code)) is not None

    def flush(self) -> None:
        """Send the session's pending changes to the database (in the transaction, committing nothing)."""
        self.session.flush()
