"""What every part of the hours store but the ledger's shares: the session it works in.
(:class:`~services.hours.store.ledger.LedgerStore` keeps its own, with the rows its
transaction holds.)"""

from __future__ import annotations

from sqlalchemy.orm import Session


class StoreBase:
    """The session every statement of one store runs in; it never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session
