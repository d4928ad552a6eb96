"""Client-supplied ids: the first answer to an id is kept, a retry with the same body
gets it back, a different body under the same id is refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.fund.store import FundStore
from yilin.errors import Conflict


def body_hash(operation: str, target: str | None, data: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"operation": operation, "target": target, "body": data}, sort_keys=True, default=str, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(store: FundStore, key: str, digest: str) -> dict[str, Any] | None:
    """The first answer to ``key`` if this is a retry of the same request; ``None`` if the
    id is new; ``Conflict`` if it was used for something else."""
    previous = store.client_request(key)
    if previous is None:
        return None
    if previous.body_hash != digest:
        raise Conflict(
            "this transfer id was already used for a different request",
            {"transfer_id": [f"already used by {previous.operation} with a different body"]},
        )
    return dict(previous.response)


def remember(store: FundStore, key: str, operation: str, digest: str, response: dict[str, Any]) -> None:
    """Keep the ids of what the request created; a retry renders them again, and since
    reports and paid disbursements never change, it renders the first answer."""
    store.keep_client_request(key, operation, digest, response)
