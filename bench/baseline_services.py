"""The baselines' own nameko services, started as processes like the real ones:

    python -m bench.baseline_services noop   # a no-op durable event handler
    python -m bench.baseline_services bare   # an HTTP entrypoint returning a constant

Both run with the same configuration file (worker pool, serializer) as every Yilin
service, so a ratio to them isolates what Yilin's own code costs."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()

import sys
from typing import Any

from nameko.web.handlers import http

from yilin.consuming import DurableEventHandler

NOOP_SOURCE, NOOP_EVENT = "benchsource", "bench.noop"


class NoopService:
    """Acks each event after doing nothing, on the same quorum-queue entrypoint as the
    services' handlers."""

    name = "noop"

    @DurableEventHandler.decorator(NOOP_SOURCE, NOOP_EVENT)
    def handle(self, body: Any) -> None:
        return None


class BareService:
    name = "bare"

    @http("GET", "/bare")
    def bare(self, request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, '{"ok": true}'


def main() -> None:
    from nameko.cli.run import run

    from yilin.config import load_config

    service = {"noop": NoopService, "bare": BareService}[sys.argv[1]]
    run([service], load_config())


if __name__ == "__main__":
    main()
