"""All of the hours service's SQL, locking and batching, behind named methods, split by
meaning:

- :mod:`.ledger` (:class:`LedgerStore`): the ledger's row locks, the batch a handful of
  ticket events loads at once, entries, sheets and their transitions.

A store reads and writes within the session it is given and never commits: the unit of
work around it decides the transaction."""

from __future__ import annotations

from services.hours.store.ledger import LedgerStore, TicketBatch

__all__ = ["LedgerStore", "TicketBatch"]
