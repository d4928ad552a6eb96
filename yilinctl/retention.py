"""``yilin retention``: keep the kit's tables (outbox, inbox, audit, rpc_requests) bounded.

- **Outbox**: rows already sent (``sent_at`` set) and older than the outbox window are
  deleted. Unsent rows are never touched, whatever their age: the sweep still owes them
  to the broker. The outbox is also the event log ``yilin replay`` reads, so the window
  is how far back a rebuilt consumer can catch up.
- **Inbox**: event ids handled longer ago than the inbox window are forgotten. The
  window must outlast every way an event can arrive again: broker redelivery (seconds),
  the outbox sweep (seconds), a dead letter replayed by an operator (days) and
  ``yilin replay`` of an outbox (the outbox window). Hence the inbox window is at least
  the outbox window plus a day, and no window is shorter than :data:`MIN_DAYS`.
- **Audit**: rows older than the audit retention are appended to a JSON-lines archive
  file (one per service and run), flushed to disk, and only then deleted.
- **RPC requests** (``rpc_requests``, :mod:`yilin.writes`): answered write claims older
  than the RPC window are deleted. A claim without its answer, or whose row another
  transaction holds locked (PostgreSQL: ``SKIP LOCKED``), is never touched: its write may
  still be running. A claim uncommitted is invisible and so untouched too.

Each table is worked in batches, one transaction per batch, so a large backlog never
holds long locks beside the running services. On PostgreSQL ``--vacuum`` runs
``VACUUM (ANALYZE)`` on the tables afterwards so the freed pages are reused."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, delete, inspect, select, tuple_
from sqlalchemy.engine import Engine

from yilin.tables import define_kit_tables
from yilin.writes import TABLE as RPC_REQUESTS
from yilin.writes import define_rpc_requests

MIN_DAYS = 7.0  # longer than any redelivery or dead-letter replay we operate with
INBOX_MARGIN_DAYS = 1.0  # an event is handled after its outbox row is marked sent, sometimes by seconds
# An rpc_requests row is what makes a repeated write RPC return its first answer instead
# of applying again. The same write key comes back through a broker redelivery (seconds),
# the gateway's retry after RPC_WRITE_TIMEOUT (30 s), and a client retrying under the same
# Idempotency-Key; the gateway answers such a retry itself for 24 hours
# (services/gateway/idempotency.py KEEP) and only past that, or after a failed first try,
# does it reach the service again. A week is seven times the longest of these, so a
# pruned claim is one nobody can repeat any more (tests/kit/test_retention.py checks the
# floor against the gateway's and the write timeout's figures).
RPC_MIN_DAYS = MIN_DAYS


class WindowTooShort(ValueError):
    """A retention window that could let an event be applied twice, or lose audit rows
    before anyone may ask for them."""


@dataclass(frozen=True)
class Policy:
    """How long each table keeps its rows (days)."""

    outbox_days: float = 14.0
    inbox_days: float = 15.0
    audit_days: float = 400.0  # a year of audit questions, and a little more
    rpc_days: float = 14.0
    batch: int = 5000
    vacuum: bool = False

    def check(self) -> None:
        """Refuse windows that are unsafe (see the module's docstring); raise
        :class:`WindowTooShort` naming the setting."""
        for name in ("outbox_days", "inbox_days", "audit_days"):
            if getattr(self, name) < MIN_DAYS:
                raise WindowTooShort(f"{name}={getattr(self, name):g} is shorter than the minimum of {MIN_DAYS:g} days")
        if self.inbox_days < self.outbox_days + INBOX_MARGIN_DAYS:
            raise WindowTooShort(
                f"inbox_days={self.inbox_days:g} must be at least outbox_days + {INBOX_MARGIN_DAYS:g} "
                f"({self.outbox_days + INBOX_MARGIN_DAYS:g}): a replayed outbox event would be applied twice"
            )
        if self.batch < 1:
            raise WindowTooShort(f"batch={self.batch} must be at least 1")
        if self.rpc_days < RPC_MIN_DAYS:
            raise WindowTooShort(
                f"rpc_days={self.rpc_days:g} is shorter than the minimum of {RPC_MIN_DAYS:g} days: "
                "a client retrying a write under its Idempotency-Key could apply it twice"
            )


@dataclass
class Outcome:
    """What one run did to one service's database."""

    service: str
    outbox_pruned: int = 0
    inbox_pruned: int = 0
    audit_archived: int = 0
    rpc_requests_pruned: int = 0
    archive: str | None = None
    vacuumed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def kit_tables() -> dict[str, Table]:
    """The kit's tables as retention sees them (outbox, inbox, audit, rpc_requests)."""
    metadata = MetaData()
    define_kit_tables(metadata)
    define_rpc_requests(metadata)
    return dict(metadata.tables)


def prune_outbox(engine: Engine, table: Table, before: datetime, batch: int) -> int:
    """Delete sent rows whose ``sent_at`` is before ``before``; unsent rows stay."""
    chosen = select(table.c.id).where(table.c.sent_at.is_not(None), table.c.sent_at < before).limit(batch)
    return _delete_in_batches(engine, table, table.c.id, chosen, batch)


def prune_inbox(engine: Engine, table: Table, before: datetime, batch: int) -> int:
    """Forget event ids handled before ``before``."""
    chosen = select(table.c.event_id).where(table.c.handled_at < before).limit(batch)
    return _delete_in_batches(engine, table, table.c.event_id, chosen, batch)


def prune_rpc_requests(engine: Engine, table: Table, before: datetime, batch: int) -> int:
    """Delete answered write claims created before ``before``. Unanswered claims stay,
    and on PostgreSQL so do rows another transaction holds locked (``SKIP LOCKED``): a
    delivery of that call may still be running or waiting on it."""
    c = table.c
    finished = c.answer.is_not(None) & (c.created_at < before)
    chosen = select(c.caller, c.key, c.method, c.body_hash).where(finished).limit(batch)
    if engine.dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)  # held until this batch's commit
    total = 0
    while True:
        with engine.begin() as conn:
            keys = [tuple(row) for row in conn.execute(chosen)]
            if keys:
                conn.execute(delete(table).where(tuple_(c.caller, c.key, c.method, c.body_hash).in_(keys), finished))
        total += len(keys)
        if len(keys) < batch:
            return total


def _delete_in_batches(engine: Engine, table: Table, key: Any, chosen: Any, batch: int) -> int:
    total = 0
    while True:
        with engine.begin() as conn:
            keys = list(conn.execute(chosen).scalars())
            if keys:
                conn.execute(delete(table).where(key.in_(keys)))
        total += len(keys)
        if len(keys) < batch:
            return total


def archive_audit(engine: Engine, table: Table, before: datetime, batch: int, path: Path) -> int:
    """Append audit rows that occurred before ``before`` to ``path`` (JSON lines, oldest
    first) and delete them. Each batch is on disk (fsync) before its rows are deleted,
    so a crash can at worst archive a batch twice (same ids), never lose one."""
    total = 0
    after = ""
    while True:
        with engine.begin() as conn:
            # ids are time-ordered (UUIDv7), so they page the rows oldest first
            rows = (
                conn.execute(
                    select(table)
                    .where(table.c.occurred_at < before, table.c.id > after)
                    .order_by(table.c.id)
                    .limit(batch)
                )
                .mappings()
                .all()
            )
            if rows:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as archive:
                    for row in rows:
                        archive.write(json.dumps(_jsonable(dict(row)), ensure_ascii=False, sort_keys=True) + "\n")
                    archive.flush()
                    os.fsync(archive.fileno())
                conn.execute(delete(table).where(table.c.id.in_([row["id"] for row in rows])))
        total += len(rows)
        if len(rows) < batch:
            return total
        after = rows[-1]["id"]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
            out[key] = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


def vacuum(engine: Engine, names: list[str]) -> list[str]:
    """``VACUUM (ANALYZE)`` each table on PostgreSQL (outside a transaction, as VACUUM
    requires); nothing on SQLite. Returns the tables vacuumed."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in names:
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{name}"')
    return names


def run(engine: Engine, service: str, policy: Policy, archive_dir: Path, now: datetime | None = None) -> Outcome:
    """Apply ``policy`` to one service's database."""
    policy.check()
    now = now or datetime.now(timezone.utc)
    tables = kit_tables()
    outcome = Outcome(service)
    outcome.outbox_pruned = prune_outbox(
        engine, tables["outbox"], now - timedelta(days=policy.outbox_days), policy.batch
    )
    outcome.inbox_pruned = prune_inbox(engine, tables["inbox"], now - timedelta(days=policy.inbox_days), policy.batch)
    path = archive_dir / f"{service}-audit-{now.strftime('%Y%m%dT%H%M%SZ')}.jsonl"
    outcome.audit_archived = archive_audit(
        engine, tables["audit"], now - timedelta(days=policy.audit_days), policy.batch, path
    )
    outcome.archive = str(path) if outcome.audit_archived else None
    pruned = ["outbox", "inbox", "audit"]
    if inspect(engine).has_table(RPC_REQUESTS):  # a service without write RPCs has none
        outcome.rpc_requests_pruned = prune_rpc_requests(
            engine, tables[RPC_REQUESTS], now - timedelta(days=policy.rpc_days), policy.batch
        )
        pruned.append(RPC_REQUESTS)
    if policy.vacuum:
        outcome.vacuumed = vacuum(engine, pruned)
    return outcome
