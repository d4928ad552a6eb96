"""Write RPCs that apply once, however often they are delivered.

The gateway gives every write a *write key*: the client's ``Idempotency-Key``, or else an
id of its own for the request. The key travels in the RPC's context (the message
headers, beside the signed identity) under :data:`WRITE_KEY`, so a service's answer to a
request that the broker redelivers (its first worker died between commit and reply) or
that a client retries is the first answer, not a second change.

A write RPC declared with :func:`applies_once` (``yilin.rpc.write_rpc``) claims the key
in an ``rpc_requests`` row at the start of its first transaction and writes its answer
into that row just before the commit: the claim, the change and the answer commit
together or not at all. A second delivery of the same call inserts the same primary key
and waits on the first one's row lock: if the first commits, the second returns the
stored answer; if the first rolls back (or its process dies, and its connection with
it), the claim disappears with it and the second applies the change. Nothing is ever
taken over on a guess about time."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, TypeVar

from kombu.utils import json as kombu_json
from sqlalchemy import Column, DateTime, Index, MetaData, PrimaryKeyConstraint, String, Table, Text, select, update
from sqlalchemy.orm import Session

from yilin.tables import utcnow

WRITE_KEY = "yilin.write_key"  # nameko context key (sent as the header ``nameko.yilin.write_key``)
MAX_KEY_LENGTH = 255
TABLE = "rpc_requests"


def define_rpc_requests(metadata: MetaData) -> Table:
    """Add the ``rpc_requests`` table to a service's metadata (created by the kit's
    migration step ``create_rpc_requests_v1``)."""
    table = Table(
        TABLE,
        metadata,
        Column("caller", String(128), nullable=False),
        Column("key", String(MAX_KEY_LENGTH), nullable=False),
        Column("method", String(120), nullable=False),
        Column("body_hash", String(64), nullable=False),
        Column("answer", Text, nullable=True),  # JSON; set in the claim's own transaction
        Column("created_at", DateTime(timezone=True), nullable=False),
        # one request may make several calls under its key: each method and body is its own write
        PrimaryKeyConstraint("caller", "key", "method", "body_hash", name="pk_rpc_requests"),
    )
    Index("ix_rpc_requests_created_at", table.c.created_at)
    return table


@dataclass(frozen=True)
class WriteCall:
    """One delivery of a write RPC: who asked, under which key, for what."""

    caller: str
    key: str
    method: str
    body_hash: str


def write_call(caller: str, key: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> WriteCall | None:
    """The :class:`WriteCall` of a delivery, or ``None`` when it carries no write key (a
    tool or a service calling without one: the call simply runs)."""
    if not isinstance(key, str) or not key:
        return None
    if len(key) > MAX_KEY_LENGTH:  # the gateway allows 200; anything longer is kept as its digest
        key = hashlib.sha256(key.encode()).hexdigest()
    body = json.dumps({"args": args, "kwargs": kwargs}, sort_keys=True, separators=(",", ":"), default=str)
    return WriteCall(caller[:128], key, method[:120], hashlib.sha256(body.encode()).hexdigest())


class Answered(Exception):
    """Raised inside a write when its key was answered before: ``answer`` is that answer."""

    def __init__(self, answer: Any) -> None:
        super().__init__("answered before")
        self.answer = answer


def _where(table: Table, call: WriteCall) -> Any:
    c = table.c
    return (c.caller == call.caller) & (c.key == call.key) & (c.method == call.method) & (c.body_hash == call.body_hash)


def claim(session: Session, table: Table, call: WriteCall, insert_ignoring: Any) -> None:
    """Claim ``call`` in the session's open transaction, or raise :class:`Answered` with
    the first answer. A concurrent claim of the same call makes this wait for its end
    (the primary key's row lock), so at most one of them ever applies."""
    statement = insert_ignoring(session, table).values(
        caller=call.caller, key=call.key, method=call.method, body_hash=call.body_hash, created_at=utcnow()
    )
    inserted = session.execute(statement.returning(table.c.key)).first()
    if inserted is not None:
        return
    stored = session.execute(select(table.c.answer).where(_where(table, call))).scalar_one()
    raise Answered(kombu_json.loads(stored) if stored is not None else None)


def remember(session: Session, table: Table, call: WriteCall, answer: Any) -> None:
    """Store the answer of the claimed ``call`` (before the commit of its change)."""
    session.execute(update(table).where(_where(table, call)).values(answer=kombu_json.dumps(answer)))


Method = TypeVar("Method", bound=Callable[..., Any])


def applies_once(method: Method) -> Method:
    """Make a service method a write that applies once per write key (see the module).
    The service keeps its :class:`yilin.db.Database` as ``db``; the method changes data
    only inside ``self.db.transaction()``, which the decorator commits once the method has
    returned its answer."""

    @wraps(method)
    def once(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self.db.once(method.__name__, args, kwargs, lambda: method(self, *args, **kwargs))

    return once  # type: ignore[return-value]  # same signature, wrapped
