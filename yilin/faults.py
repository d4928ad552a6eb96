"""Named crash points for the fault suite.

Setting ``YILIN_FAULTS=outbox.after_commit`` (comma-separated) makes the process die
with SIGKILL semantics the first time it reaches that point: exactly the crash between
a commit and its publish that the outbox sweep exists to repair (or
``rpc.after_commit``: a write RPC committed, its reply not sent). Faults fire only in
development mode (``YILIN_ENV=development``): a production process ignores them.

``YILIN_CHAOS_HANDLER_DELAY=0.01`` makes each event handler hold its transaction open
that many seconds after each event, so that a fault lands on work in progress."""

from __future__ import annotations

import logging
import os

from yilin.environment import DEVELOPMENT_ALIASES

log = logging.getLogger(__name__)


def point(name: str) -> None:
    """Die here, without cleanup, if the fault ``name`` is switched on."""
    active = os.environ.get("YILIN_FAULTS")
    if active and name in active.split(",") and os.environ.get("YILIN_ENV", "").lower() in DEVELOPMENT_ALIASES:
        log.warning("fault injected: %s", name)
        os._exit(137)


def handler_delay() -> float:
    """``YILIN_CHAOS_HANDLER_DELAY`` in seconds, 0 if unset: how long a handler sleeps
    (cooperatively) after each event. Read once per batch, not per event."""
    delay = os.environ.get("YILIN_CHAOS_HANDLER_DELAY")
    return float(delay) if delay else 0.0
