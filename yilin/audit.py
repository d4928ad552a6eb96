"""The audit trail every service keeps in its own ``audit`` table.

:func:`record` is called by :meth:`yilin.db.DatabaseAccess.transaction` in the same
transaction as a change that emitted events (or noted a change that publishes none,
``UnitOfWork.note``): who (the caller's identity), when, what (the event types and the
ids they name) and from which request (correlation id). It holds ids and codes only,
never personal data, like the events themselves.

A service exposes its trail with one line: inherit :class:`AuditLogRpc`, which adds the
RPC method ``audit_log(query)`` that the gateway's ``GET /api/v1/audit`` calls."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Any, Iterable

from marshmallow import Schema, fields, validate
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from yilin.bulk import insert_rows
from yilin.errors import Forbidden, load
from yilin.events import Envelope
from yilin.fields import UtcDateTime
from yilin.identity import SERVICE_ROLE, Identity
from yilin.paging import MAX_PAGE
from yilin.rpc import rpc

EVENT_TYPE = validate.Regexp(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", error="an event type, e.g. volunteer.updated")


def time_ordered_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then randomness, so ids sort
    in the order rows were written."""
    return time_ordered_ids(1)[0]


_VERSION_7 = (0xF << 76, 0x7 << 76)  # the version's bits: cleared, then set
_RFC_4122 = (0x3 << 62, 0x2 << 62)  # the variant's


def time_ordered_ids(count: int) -> list[str]:
    """``count`` UUIDv7s (see :func:`time_ordered_id`) of this millisecond, with their
    randomness read in one call."""
    stamp = (int(time.time() * 1000) & ((1 << 48) - 1)) << 80
    noise = os.urandom(10 * count)
    ids = []
    for start in range(0, 10 * count, 10):
        value = stamp | int.from_bytes(noise[start : start + 10], "big")
        value = (value & ~_VERSION_7[0] | _VERSION_7[1]) & ~_RFC_4122[0] | _RFC_4122[1]
        digits = f"{value:032x}"
        ids.append(f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}")
    return ids


def _ids(value: Any, key: str, found: dict[str, None]) -> None:
    """Add to ``found`` every string under a ``*_id`` or ``*_ids`` key, however deeply
    nested (into a dict, not through generators: a batch import's audit row walks
    thousands of payloads)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _ids(v, k, found)
    elif isinstance(value, list):
        for item in value:
            _ids(item, key, found)
    elif isinstance(value, str) and key.endswith(("_id", "_ids")):
        found[value] = None


def entity_ids(payloads: Iterable[dict[str, Any]]) -> list[str]:
    """The ids the payloads name, each once, in order of appearance."""
    found: dict[str, None] = {}
    for data in payloads:
        _ids(data, "", found)
    return list(found)


def record(
    session: Session,
    table: Any,
    steps: Iterable[tuple[str | None, list[Envelope], list[tuple[str, dict[str, Any]]]]],
    identity: Identity,
    entrypoint: str | None,
) -> None:
    """Add the audit rows of one transaction to ``session`` (before its commit), in one
    statement (:func:`yilin.bulk.insert_rows`: a ``COPY`` for a full batch on
    PostgreSQL): a row per step (a request, or each event of a consumed batch) with its
    correlation id, its events and the notes of changes that publish none."""
    who = {
        "occurred_at": datetime.now(timezone.utc),
        "actor_subject": identity.subject[:128],
        "actor_role": identity.role[:32],
        "actor_organisation_id": (identity.organisation_id or None) and identity.organisation_id[:64],
        "entrypoint": (entrypoint or None) and entrypoint[:80],
    }
    rows = []
    for correlation_id, events, notes in steps:
        changes = [(e.type, e.data) for e in events] + list(notes)
        rows.append(
            {
                "action": ",".join(dict.fromkeys(action for action, _ in changes)),
                "entity_ids": entity_ids(data for _, data in changes),
                "event_ids": [e.id for e in events],
                "correlation_id": (correlation_id or None) and correlation_id[:64],
            }
        )
    for row, id_ in zip(rows, time_ordered_ids(len(rows))):
        row["id"] = id_
    insert_rows(session, table, rows, same=who)


class AuditQuery(Schema):
    """Filters of ``audit_log``; newest first, keyset-paged by ``cursor``."""

    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PAGE))
    cursor = fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "next_cursor of the previous page."}
    )
    actor = fields.String(validate=validate.Length(1, 128), metadata={"description": "Subject of the actor."})
    action = fields.String(validate=EVENT_TYPE, metadata={"description": "An event type the change emitted."})
    entity_id = fields.UUID(metadata={"description": "An id the change touched."})
    correlation_id = fields.String(validate=validate.Length(1, 64))
    since = fields.AwareDateTime(metadata={"description": "Inclusive lower bound of occurred_at."})
    until = fields.AwareDateTime(metadata={"description": "Exclusive upper bound of occurred_at."})


class AuditEntry(Schema):
    id = fields.String(required=True)
    occurred_at = UtcDateTime(required=True)
    actor_subject = fields.String(required=True)
    actor_role = fields.String(required=True)
    actor_organisation_id = fields.String(allow_none=True)
    entrypoint = fields.String(allow_none=True, metadata={"description": "The service operation that made the change."})
    action = fields.List(fields.String(), required=True, metadata={"description": "Event types the change emitted."})
    entity_ids = fields.List(fields.String(), required=True)
    event_ids = fields.List(fields.String(), required=True)
    correlation_id = fields.String(
        allow_none=True, metadata={"description": "The request (X-Correlation-Id) it came from."}
    )


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEntry), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


def query(session: Session, q: dict[str, Any]) -> dict[str, Any]:
    """One page of the trail matching ``q`` (loaded with :class:`AuditQuery`)."""
    table = session.info["metadata"].tables["audit"]
    stmt = select(table)
    if q.get("cursor"):
        stmt = stmt.where(table.c.id < str(q["cursor"]))
    if q.get("actor"):
        stmt = stmt.where(table.c.actor_subject == q["actor"])
    if q.get("correlation_id"):
        stmt = stmt.where(table.c.correlation_id == q["correlation_id"])
    if q.get("action"):
        stmt = stmt.where(
            (table.c.action == q["action"])
            | table.c.action.startswith(q["action"] + ",", autoescape=True)
            | table.c.action.endswith("," + q["action"], autoescape=True)
            | table.c.action.contains("," + q["action"] + ",", autoescape=True)
        )
    if q.get("entity_id"):
        stmt = stmt.where(cast(table.c.entity_ids, Text).contains(f'"{q["entity_id"]}"', autoescape=True))
    if q.get("since"):
        stmt = stmt.where(table.c.occurred_at >= q["since"].astimezone(timezone.utc))
    if q.get("until"):
        stmt = stmt.where(table.c.occurred_at < q["until"].astimezone(timezone.utc))
    rows = session.execute(stmt.order_by(table.c.id.desc()).limit(q["limit"] + 1)).mappings().all()
    more = len(rows) > q["limit"]
    items = [dict(row) | {"action": row["action"].split(",")} for row in rows[: q["limit"]]]
    return {"items": items, "next_cursor": items[-1]["id"] if more else None}


AUDIT_PAGE = AuditPage()


class AuditLogRpc:
    """Mixin giving a service the RPC method ``audit_log(query)``; the service needs
    ``db`` (:class:`yilin.db.Database`) and ``caller`` (:class:`yilin.identity.Caller`),
    and names the roles that may read its trail in ``audit_readers`` (besides its own
    and the other services' accounts)."""

    audit_readers: tuple[str, ...] = ()  # none but service accounts, unless the service says

    @rpc
    def audit_log(self, query_: dict[str, Any]) -> dict[str, Any]:
        caller: Identity = self.caller  # type: ignore[attr-defined]  # the service class provides it
        if caller.role not in self.audit_readers and caller.role != SERVICE_ROLE:
            raise Forbidden(f"the role {caller.role} may not read the audit trail")
        q = load(AuditQuery(), query_)
        with self.db.read() as session:  # type: ignore[attr-defined]  # the service class provides it
            page: dict[str, Any] = AUDIT_PAGE.dump(query(session, q))
            return page
