"""The hours service's CPU per event while it drains a backlog, with its broker and
database, and optionally py-spy attached:
``python -m bench.profile_drain [TICKETS] [--py-spy OUT]``.

Starts one hours process, warms it up with 200 tickets, then publishes TICKETS tickets'
events (a resolution and a confirmation each, as the pipeline stage does) and waits for
every ``hours.verified``; prints the drain's rate and the process's CPU per event (from
``/proc/<pid>/stat``). With ``--py-spy OUT`` it records the process with ``py-spy
record -r 250 -f raw`` during the drain (needs root), for a profile of the running
service rather than of the transaction path alone (``bench.profile_handlers``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.baselines import publish_all
from bench.environment import Environment, wait_until
from bench.pipeline import TICKETS, VerifiedTap, ticket_events

WARM_UP = 200


def main() -> None:
    args = sys.argv[1:]
    tickets = int(args[0]) if args and args[0].isdigit() else 10_000
    out = args[args.index("--py-spy") + 1] if "--py-spy" in args else None
    with Environment.create() as env:
        env.migrate("hours")
        process = env.start("hours")
        process.wait_ready()
        tap = VerifiedTap(env.amqp_uri)
        try:
            publish_all(env.amqp_uri, TICKETS, ticket_events(WARM_UP, datetime.now(timezone.utc)))
            wait_until(lambda: tap.count() >= WARM_UP, 120, "the warm-up's hours.verified", interval=0.05)
            events = ticket_events(tickets, datetime.now(timezone.utc))
            spy = None
            if out is not None:
                py_spy = Path(sys.executable).with_name("py-spy")
                command = [str(py_spy), "record", "-r", "250", "-f", "raw", "--pid", str(process.pid), "-o", out]
                spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.0)  # attached before the backlog arrives
            cpu, started = process.cpu_seconds(), time.perf_counter()
            publish_all(env.amqp_uri, TICKETS, events)
            wait_until(lambda: tap.count() >= WARM_UP + tickets, 600, "every hours.verified", interval=0.05)
            elapsed, cpu = time.perf_counter() - started, process.cpu_seconds() - cpu
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
                spy.wait()
        finally:
            tap.close()
            env.stop(process)
    n = 2 * tickets
    print(f"{n} events in {elapsed:.1f} s, {n / elapsed:.0f} events/s; hours CPU per event {1000 * cpu / n:.3f} ms")


if __name__ == "__main__":
    main()
