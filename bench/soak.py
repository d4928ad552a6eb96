"""The soak: every backend service runs for ten minutes while the hours pipeline drains
tickets at district load, retention runs periodically, and the figures that must stay
flat are sampled: each service's peak resident memory, and the size of the kit's tables.

    python -m bench.soak            # YILIN_SOAK_SECONDS (600), YILIN_SOAK_RATE (40 events/s),
                                    # YILIN_SOAK_VISITORS (2 volunteers/s through the gateway)

District load: 173,000 volunteers each credited once a week is about 0.3 tickets a
second; the soak offers 20 tickets (40 events) a second, far above a busy hour. Each
ticket is a ``ticket.resolved`` and a ``ticket.confirmed`` published as the tickets
service publishes them (persistent, confirmed), ending in a verified ledger entry, an
``hours.recorded`` and an ``hours.verified`` in the hours outbox, inbox rows and audit rows.

Retention runs every ``YILIN_SOAK_RETENTION_INTERVAL`` seconds (30) with the real
functions of ``yilin retention`` but windows compressed from days to
``YILIN_SOAK_WINDOW`` seconds (60), then ``VACUUM (ANALYZE)``, so ten minutes show
what weeks would. Results go to ``bench/results/soak.json``; the memory figure is each
service's peak RSS at the end over its peak RSS after one minute (target ≤ 1.1).

The gateway and the activities service carry traffic too: volunteers arrive through
the gateway, each signing up for one of 20 activities (whose waiting lists grow all
along) and reading it back; every answer must be 2xx."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

from bench.environment import ROOT, Environment, ServiceProcess, wait_until
from bench.gateway import start_stack
from bench.pipeline import TICKETS, VerifiedTap, ticket_events
from bench.signups import publish, token
from yilin.config import database_url
from yilin.confirms import Outgoing, PipelinedPublisher
from yilin.db import engine_for
from yilinctl import retention

SERVICES = ("registry", "tickets", "hours", "fund", "activities", "gateway")
KIT_TABLES = ("outbox", "inbox", "audit")
TARGET = 1.1
RESULTS = ROOT / "bench" / "results" / "soak.json"


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def table_sizes(env: Environment) -> dict[str, dict[str, int]]:
    """Rows and bytes on disk (with indexes and TOAST) of each service's kit tables."""
    sizes: dict[str, dict[str, int]] = {}
    conn = env.pg()
    try:
        with conn.cursor() as cur:
            for service in SERVICES:
                for table in KIT_TABLES:
                    cur.execute(
                        f'SELECT count(*), pg_total_relation_size(\'"{service}".{table}\') FROM "{service}".{table}'
                    )
                    rows, size = cur.fetchone()
                    sizes[f"{service}.{table}"] = {"rows": int(rows), "bytes": int(size)}
    finally:
        conn.close()
    return sizes


def prune(env: Environment, window: float, archive: Path) -> dict[str, int]:
    """One retention pass over every service, windows compressed to ``window`` seconds."""
    tables = retention.kit_tables()
    now = datetime.now(timezone.utc)
    done = {"outbox": 0, "inbox": 0, "audit": 0}
    for service in SERVICES:
        engine = engine_for(database_url(env.config(), service, environ={}), service)
        before = now - timedelta(seconds=window)
        done["outbox"] += retention.prune_outbox(engine, tables["outbox"], before, 5000)
        # the inbox outlasts the outbox, as Policy.check requires of the real windows
        done["inbox"] += retention.prune_inbox(engine, tables["inbox"], before - timedelta(seconds=window / 14), 5000)
        done["audit"] += retention.archive_audit(engine, tables["audit"], before, 5000, archive / f"{service}.jsonl")
        retention.vacuum(engine, list(KIT_TABLES))
    return done


def rss(processes: dict[str, ServiceProcess]) -> dict[str, float]:
    return {name: process.peak_rss_mib() for name, process in processes.items()}


class Visitors:
    """Volunteers coming to the gateway through the soak: ``rate`` a second, each a new
    signed-in volunteer who signs up for one of ``activities`` (writes through the
    gateway to the activities service, whose waiting lists grow all along) and reads it
    back. Every answer that is not 2xx is kept."""

    def __init__(self, api: str, rate: float, activities: list[str]) -> None:
        self.api, self.rate, self.activities = api, rate, activities
        self.answered = 0
        self.failed: list[str] = []
        self._running = True
        self._thread = eventlet.spawn(self._run)

    def _run(self) -> None:
        came = 0
        began = time.monotonic()
        with requests.Session() as http:
            while self._running:
                while came < int((time.monotonic() - began) * self.rate):
                    person = str(uuid.uuid4())
                    activity = f"{self.api}/activities/{self.activities[came % len(self.activities)]}"
                    http.headers["Authorization"] = f"Bearer {token('volunteer', person)}"
                    for answer in (
                        http.post(f"{activity}/sign-ups", json={"volunteer_id": person}, timeout=30),
                        http.get(activity, timeout=30),
                    ):
                        if answer.ok:
                            self.answered += 1
                        else:
                            self.failed.append(f"{answer.request.method} {answer.url} {answer.status_code}")
                    came += 1
                eventlet.sleep(0.1)

    def close(self) -> None:
        self._running = False
        self._thread.wait()


def run(seconds: float, rate: float, window: float, interval: float, visitors_rate: float) -> dict[str, Any]:
    with Environment.create() as env:
        processes = start_stack(env, SERVICES)
        api = f"http://127.0.0.1:{processes['gateway'].http_port}/api/v1"
        visitors = Visitors(api, visitors_rate, publish(api, 20, capacity=50))
        tap = VerifiedTap(env.amqp_uri)
        publisher = PipelinedPublisher(env.amqp_uri)
        archive_dir = Path(tempfile.mkdtemp(prefix="yilin-soak-archive-"))
        samples: list[dict[str, Any]] = []
        pruned = {"outbox": 0, "inbox": 0, "audit": 0}
        at_one_minute: dict[str, float] | None = None
        tickets = 0
        tick = 0.1
        began = time.monotonic()
        next_prune = began + interval
        next_sample = began
        try:
            while (elapsed := time.monotonic() - began) < seconds:
                due = int(elapsed * rate / 2) - tickets + 1  # tickets owed at this instant
                if due > 0:
                    batch = ticket_events(due, datetime.now(timezone.utc))
                    publisher.publish([Outgoing(TICKETS, b["type"], b, b["id"]) for b in batch])
                    tickets += due
                now = time.monotonic()
                if at_one_minute is None and now - began >= 60:
                    at_one_minute = rss(processes)
                if now >= next_prune:
                    for table, count in prune(env, window, archive_dir).items():
                        pruned[table] += count
                    next_prune = now + interval
                if now >= next_sample:
                    samples.append(
                        {
                            "t": round(now - began, 1),
                            "verified": tap.count(),
                            "published_tickets": tickets,
                            "peak_rss_mib": rss(processes),
                            "tables": table_sizes(env),
                        }
                    )
                    print(f"[soak] t={samples[-1]['t']:.0f}s tickets={tickets} verified={tap.count()}", file=sys.stderr)
                    next_sample = now + 30
                eventlet.sleep(tick)
            publisher.close()
            visitors.close()
            wait_until(lambda: tap.count() >= tickets, 300, "soak drained", interval=0.5)
            drained_after = round(time.monotonic() - began - seconds, 1)
            final = rss(processes)
            at_one_minute = at_one_minute or samples[0]["peak_rss_mib"]
            ending_tables = table_sizes(env)
        finally:
            tap.close()
            env.stop_all()
            shutil.rmtree(archive_dir, ignore_errors=True)
    ratios = {name: round(final[name] / at_one_minute[name], 3) for name in SERVICES if at_one_minute[name]}
    # Tables reach their steady size once retention has run a full window: compare from there.
    steady = next((s for s in samples if s["t"] >= window + 2 * interval), samples[-1])
    growth = {
        table: round(size["rows"] / steady["tables"][table]["rows"], 3)
        for table, size in ending_tables.items()
        if steady["tables"][table]["rows"]
    }
    return {
        "seconds": seconds,
        "offered_events_per_second": rate,
        "visitors": {"per_second": visitors_rate, "answered_2xx": visitors.answered, "failed": visitors.failed},
        "tickets": tickets,
        "verified": tap.count(),
        "drained_seconds_after_end": drained_after,
        "retention": {"window_seconds": window, "interval_seconds": interval, "pruned": pruned},
        "peak_rss_mib_at_1min": at_one_minute,
        "peak_rss_mib_at_end": final,
        "rss_end_vs_1min": ratios,
        "target": TARGET,
        "met": all(r <= TARGET for r in ratios.values()) and not visitors.failed,
        "tables_at_steady": {"t": steady["t"], "tables": steady["tables"]},
        "tables_at_end": ending_tables,
        "table_rows_end_vs_steady": growth,
        "samples": samples,
    }


def main() -> int:
    seconds = _setting("YILIN_SOAK_SECONDS", 600)
    result = run(
        seconds,
        rate=_setting("YILIN_SOAK_RATE", 40),
        window=_setting("YILIN_SOAK_WINDOW", 60),
        interval=_setting("YILIN_SOAK_RETENTION_INTERVAL", 30),
        visitors_rate=_setting("YILIN_SOAK_VISITORS", 2),
    )
    result["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    steady = result["tables_at_steady"]
    for name in SERVICES:
        print(
            f"soak {name}: peak RSS {result['peak_rss_mib_at_1min'][name]} MiB at 1 min → "
            f"{result['peak_rss_mib_at_end'][name]} MiB at {seconds:g} s "
            f"(ratio {result['rss_end_vs_1min'].get(name)}, target ≤ {TARGET})"
        )
    for table, now in result["tables_at_end"].items():
        then = steady["tables"][table]
        if then["rows"] or now["rows"]:
            print(
                f"soak {table}: rows {then['rows']} at {steady['t']:g} s → {now['rows']} at the end, "
                f"bytes {then['bytes']} → {now['bytes']}"
            )
    print(
        f"soak: tickets={result['tickets']} verified={result['verified']} pruned={result['retention']['pruned']} "
        f"met={result['met']}  (written {RESULTS.relative_to(ROOT)})"
    )
    visitors = result["visitors"]
    print(
        f"soak visitors: {visitors['answered_2xx']} answered 2xx, {len(visitors['failed'])} not: {visitors['failed'][:5]}"
    )
    return 0 if result["verified"] >= result["tickets"] and not visitors["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
