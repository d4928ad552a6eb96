"""All of the hours service's SQL, locking and batching, behind named methods, split by
meaning:

- :mod:`.ledger` (:class:`LedgerStore`): the ledger's row locks, the batch of ticket
  events loaded at once, entries, sheets and their transitions, star changes.
- :mod:`.standings` (:class:`StandingsStore`): totals, leaderboards, indicator counts;
  :class:`TotalReads`: a volunteer's total past the session (:mod:`yilin.plainreads`).
- :mod:`.records` (:class:`RecordStore`): what a volunteer's national record is read from.
- :mod:`.certificates` (:class:`CertificateStore`): certified minutes, serials, certificates.
- :mod:`.projection` (:class:`ProjectionStore`): the registry's volunteers, teams and
  organisations as kept from its events.

A store reads and writes within the session it is given and never commits: the unit of
work around it decides the transaction."""

from __future__ import annotations

from services.hours.store.certificates import CertificateStore
from services.hours.store.ledger import LedgerStore, TicketBatch
from services.hours.store.projection import ProjectionStore
from services.hours.store.records import RecordRows, RecordStore
from services.hours.store.standings import Ranked, StandingsStore, TotalReads, TotalRow

__all__ = [
    "CertificateStore",
    "LedgerStore",
    "ProjectionStore",
    "Ranked",
    "RecordRows",
    "RecordStore",
    "StandingsStore",
    "TicketBatch",
    "TotalReads",
    "TotalRow",
]
