"""Waiting for something to become true, and reading a consumer's socket until told to
stop: the two loops the suite and the benchmark both need, written once."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable


class WaitTimeout(AssertionError, TimeoutError):
    """A condition did not hold in time: a failed assertion to pytest, a timeout to the
    benchmark (which runs a stage again on one)."""


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition", interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy, and return that; raise
    :class:`WaitTimeout` after ``timeout`` seconds. ``time.sleep`` is cooperative where
    eventlet has patched it (the suite's conftest does)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def drain(connection: Any, running: Callable[[], bool]) -> Exception | None:
    """Deliver ``connection``'s messages to its consumers while ``running()``; return the
    error that ended it early (the connection closed or the broker went away), or
    ``None`` once stopped."""
    while running():
        try:
            connection.drain_events(timeout=0.1)
        except socket.timeout:
            pass
        except Exception as exc:  # noqa: BLE001 - the caller decides what a lost connection means
            return exc
    return None
