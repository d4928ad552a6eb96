"""``Idempotency-Key`` on POST, as the IETF draft "The Idempotency-Key HTTP Header
Field" specifies: a client that retries a write after a timeout or a dropped connection
gets the first answer again instead of a second change.

The gateway keeps (caller, key) → (request fingerprint, status, body) in its own
database for 24 hours. The key is claimed with an INSERT before the service is called,
so of any number of concurrent requests exactly one reaches the service. A request
under a key whose first request is still being processed is refused with 409
(``idempotency-key-in-use``); once the first has its answer, a retry gets that answer
again (``Idempotent-Replayed: true``). The same key with a different request (method,
path, query or body) is refused with 422 (``idempotency-key-reused``). A request that
fails without an answer (service unavailable, internal error) gives its claim up, so
the client may retry under the same key."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.wrappers import Request, Response

from services.gateway.problems import IdempotencyKeyInUse, IdempotencyKeyReused, problem_response
from yilin.errors import InvalidInput, MalformedInput, YilinError
from yilin.rpc import DEFAULT_WRITE_TIMEOUT
from yilin.tables import define_kit_tables

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP = timedelta(hours=24)
# A living gateway answers or gives its claim up within the write timeout (yilin.rpc), so a
# claim unanswered past twice that has lost its owner; a retry is safe in any case, since
# the service returns the first answer of the same write key (yilin.writes).
ABANDONED = timedelta(seconds=2 * DEFAULT_WRITE_TIMEOUT)
MAX_KEY_LENGTH = 200

metadata = MetaData()
define_kit_tables(metadata)  # the kit's Database expects them; the gateway publishes nothing
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("subject", String(128), primary_key=True),
    Column("key", String(MAX_KEY_LENGTH), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=True),  # NULL while the first request is running
    Column("content_type", String(100), nullable=True),
    Column("body", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
)


def fingerprint(method: str, path: str, query: dict[str, Any], body: Any) -> str:
    """What makes two requests "the same": method, path, query and the JSON body
    (parsed, so key order and whitespace do not matter)."""
    canonical = json.dumps(
        {"method": method, "path": path, "query": query, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def guard(
    db: Any, request: Request, subject: str, fingerprint_of: Callable[[], str], respond: Callable[[], Response]
) -> Response:
    """Run ``respond`` at most once per (subject, Idempotency-Key) of a POST
    (``fingerprint_of`` gives the request's :func:`fingerprint`, computed only then)."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return respond()
    print_ = fingerprint_of()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters", {HEADER: ["invalid idempotency key"]}
        )
    engine = db.provider.engine
    while True:
        if _claim(engine, subject, key, print_):
            return _first(engine, subject, key, respond, request.path)
        row = _load(engine, subject, key)
        if row is not None:
            break
        # the first request gave up its claim between our insert and read: try to take it
    if row.fingerprint != print_:
        raise IdempotencyKeyReused(
            f"this {HEADER} was already used for a different request",
            {HEADER: ["already used with a different method, path, query or body"]},
        )
    if row.status is None:
        raise IdempotencyKeyInUse(
            f"a request with this {HEADER} is still being processed; retry when it has completed",
            {HEADER: ["in progress"]},
        )
    response = Response(row.body, status=row.status, mimetype=row.content_type or "application/json")
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _first(engine: Any, subject: str, key: str, respond: Callable[[], Response], instance: str) -> Response:
    try:
        response = respond()
    except MalformedInput:
        # A body that does not fit its schema changed nothing: the key stays free for the
        # corrected request, as it did when the gateway refused such bodies before the claim.
        _release(engine, subject, key)
        raise
    except YilinError as error:  # an answer too: a replay must get the same refusal
        response = problem_response(error, instance)
    except BaseException:
        _release(engine, subject, key)
        raise
    if response.status_code >= 500:
        _release(engine, subject, key)
        return response
    with engine.begin() as conn:
        conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.subject == subject, idempotency_keys.c.key == key)
            .values(
                status=response.status_code,
                content_type=response.mimetype,
                body=response.get_data(as_text=True),
                completed_at=_now(),
            )
        )
    return response


def _claim(engine: Any, subject: str, key: str, print_: str) -> bool:
    now = _now()
    with engine.begin() as conn:
        expired = (idempotency_keys.c.created_at < now - KEEP) | (
            idempotency_keys.c.status.is_(None) & (idempotency_keys.c.created_at < now - ABANDONED)
        )
        if random.random() < 0.01:  # now and then, forget every expired key
            conn.execute(delete(idempotency_keys).where(expired))
        else:
            conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.subject == subject, idempotency_keys.c.key == key, expired
                )
            )
        factory = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        result = conn.execute(
            factory(idempotency_keys)
            .on_conflict_do_nothing()
            .values(subject=subject, key=key, fingerprint=print_, created_at=now)
        )
        return result.rowcount == 1


def _load(engine: Any, subject: str, key: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(idempotency_keys).where(idempotency_keys.c.subject == subject, idempotency_keys.c.key == key)
        ).first()


def _release(engine: Any, subject: str, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.subject == subject,
                idempotency_keys.c.key == key,
                idempotency_keys.c.status.is_(None),
            )
        )


def _now() -> datetime:
    return datetime.now(timezone.utc)
