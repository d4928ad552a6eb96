"""The event pipeline: ticket.resolved and ticket.confirmed events in, verified hours
committed (inbox, ledger, running totals, outbox) and hours.verified out.

Throughput: N tickets' two events published at once to running hours replicas, from
the start of publishing to the N-th hours.verified on the broker. Latency: tickets paced at
half that rate, from each triggering event's ``occurred_at`` to the ``occurred_at`` of
the hours.verified it caused (stamped inside the committing transaction; the event
carries the trigger's correlation id)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import eventlet
from kombu import Connection, Exchange, Queue

from bench.baselines import envelope, publish_all
from bench.cpu_quota import CpuQuota
from bench.cpu_time import CpuWindow, database_backends, pids_named, process_seconds
from bench.environment import Environment, ServiceProcess, wait_until
from tests.polling import drain as drain_events
from yilin.confirms import Outgoing, PipelinedPublisher
from yilin.events import SERIALIZER, correlation_of, parse_envelope

TICKETS = Exchange("tickets.events", type="topic", durable=True)
HOURS = Exchange("hours.events", type="topic", durable=True)


def ticket_events(count: int, base: datetime) -> list[dict[str, Any]]:
    """Each ticket's resolution (one volunteer, 30–150 minutes, its own volunteer so no
    day limit interferes) and the resident's confirmation."""
    events = []
    for i in range(count):
        ticket, community = str(uuid.uuid4()), str(uuid.uuid4())
        resolved_at = (base - timedelta(minutes=i % 600)).isoformat().replace("+00:00", "Z")
        events.append(
            envelope(
                "ticket.resolved",
                {
                    "ticket_id": ticket,
                    "community_id": community,
                    "category_code": "utilities",
                    "team_id": None,
                    "resolved_at": resolved_at,
                    "volunteers": [{"volunteer_id": str(uuid.uuid4()), "minutes": 30 + i % 120}],
                },
            )
        )
        events.append(
            envelope(
                "ticket.confirmed",
                {
                    "ticket_id": ticket,
                    "community_id": community,
                    "category_code": "utilities",
                    "rating": 1 + i % 5,
                    "automatic": False,
                },
            )
        )
    return events


class VerifiedTap:
    """Counts hours.verified on the broker with the time each arrived, and the time each
    ticket's first one arrived (a ticket verified twice, or an event published twice,
    must not end a drain early)."""

    def __init__(self, amqp_uri: str) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.first_per_ticket: list[float] = []
        self._tickets: set[Any] = set()
        self._conn = Connection(amqp_uri)
        channel = self._conn.channel()
        HOURS.bind(channel).declare()
        queue = Queue(
            f"bench-tap-{uuid.uuid4().hex[:8]}",
            exchange=HOURS,
            routing_key="hours.verified",
            exclusive=True,
            auto_delete=True,
        ).bind(channel)
        queue.declare()
        self._consumer = self._conn.Consumer(
            queue, callbacks=[self._on_message], accept=["json", SERIALIZER], no_ack=True
        )
        self._consumer.qos(prefetch_count=1000)
        self._consumer.consume()
        self.lost: BaseException | None = None
        self._running = True
        self._thread = eventlet.spawn(self._drain)

    def _on_message(self, body: Any, message: Any) -> None:
        now = time.perf_counter()
        self.received.append((now, body))
        ticket = (body.get("data") or {}).get("source_id") if isinstance(body, dict) else None
        if ticket not in self._tickets:
            self._tickets.add(ticket)
            self.first_per_ticket.append(now)

    def duplicates(self, since: int = 0) -> dict[str, int]:
        """hours.verified received since the ``since``-th, and how many repeated an event
        id (published twice) or a ticket (verified twice)."""
        bodies = [body for _, body in self.received[since:]]
        ids = {body.get("id") for body in bodies}
        tickets = {(body.get("data") or {}).get("source_id") for body in bodies}
        return {
            "received": len(bodies),
            "repeated_ids": len(bodies) - len(ids),
            "repeated_tickets": len(bodies) - len(tickets),
        }

    def _drain(self) -> None:
        self.lost = drain_events(self._conn, lambda: self._running)  # handed to whoever waits

    def count(self) -> int:
        """Tickets verified so far; raises if the tap lost its connection, so a waiting
        drain fails at once (and the stage is run again) instead of timing out."""
        if self.lost is not None:
            raise ConnectionError(f"hours.verified tap lost its connection: {self.lost}") from self.lost
        return len(self.first_per_ticket)

    def close(self) -> None:
        self._running = False
        self._thread.wait()
        try:
            self._conn.release()
        except Exception:  # noqa: BLE001 - the connection is already gone
            pass


def drain(
    env: Environment,
    tickets: int,
    replicas: int,
    report_memory: Any,
    cpu_limit: float | None = None,
    warm_up_events: int = 0,
) -> dict[str, Any]:
    """Publish a backlog of ``tickets`` tickets' events to ``replicas`` running hours
    processes and time them to the last hours.verified. With ``cpu_limit`` each replica
    runs in its own cgroup capped at that many cores, as a pod under a CPU limit. With
    ``warm_up_events`` every replica first handles at least that many events, untimed.

    Beside the rate: the CPU each replica used in the window and the events it handled
    (from its metrics endpoint), and the CPU the broker node, the run's database
    backends and this process used, per event."""
    tap = VerifiedTap(env.amqp_uri)
    events = ticket_events(tickets, datetime.now(timezone.utc))
    quotas = [CpuQuota("hours", cpu_limit) if cpu_limit else None for _ in range(replicas)]
    # Every replica is up before the backlog arrives, so none competes for the CPU with
    # another's start-up inside the measured window.
    processes = [env.start("hours", cpu_quota=quota) for quota in quotas]
    try:
        for process in processes:
            process.wait_ready()
        capped = cpu_limit is not None and all(q is not None and q.holds(p.pid) for q, p in zip(quotas, processes))
        for quota in quotas:
            if quota is not None:
                quota.apply()
        warm_up = _warm_up(env, tap, processes, warm_up_events) if warm_up_events else None
        base, seen = len(tap.first_per_ticket), len(tap.received)
        before = [_replica_sample(process) for process in processes]
        around = CpuWindow({"broker": lambda: pids_named("beam.smp"), "database": lambda: database_backends(env)})
        around.start()
        started = time.perf_counter()  # the replicas take the events as they are published
        publish_all(env.amqp_uri, TICKETS, events)
        wait_until(lambda: tap.count() >= base + tickets, 600, f"{tickets} hours.verified", interval=0.05)
        finished = tap.first_per_ticket[base + tickets - 1]
        elapsed = finished - started
        used = around.stop()
        after = [_replica_sample(process) for process in processes]
        detail = [_replica_detail(b, a, elapsed, cpu_limit if capped else None) for b, a in zip(before, after)]
        hours_cpu = sum(d["cpu_seconds"] for d in detail)
        result = {
            "tickets": tickets,
            "events": 2 * tickets,
            "replicas": replicas,
            "seconds": round(elapsed, 3),
            "per_second": round(2 * tickets / elapsed, 1),
            "replica_cpu_limit": cpu_limit if capped else None,
            "replica": detail,
            "hours_verified": tap.duplicates(since=seen),
            # Per event: what the rest of the box spends beside the replicas. The
            # broker is the whole node, other users of the machine included.
            "cpu_ms_per_event": {
                "hours": round(1000 * hours_cpu / (2 * tickets), 2),
                **{k: round(1000 * used[k] / (2 * tickets), 2) for k in ("broker", "database", "bench")},
            },
            "cpu_seconds_around": used,
        }
        if warm_up is not None:
            result["warm_up"] = warm_up
        if cpu_limit is not None and not capped:
            result["uncapped_reason"] = "a replica did not join its cgroup (see its log)"
        for i, process in enumerate(processes):
            report_memory(f"hours#{i + 1}" if replicas > 1 else "hours", process.peak_rss_mib())
        return {**result, "processes": processes, "tap": tap}
    except BaseException:
        tap.close()
        for process in processes:
            env.stop(process)
        raise


def _warm_up(env: Environment, tap: VerifiedTap, processes: list[ServiceProcess], events: int) -> dict[str, Any]:
    """Tickets, a few at a time, until every replica has handled ``events`` events: a
    fresh process's first ~100 events cost it up to twice the CPU of later ones (statement
    caches, first connections), and a replica on a cluster is long-running. Without
    this, two fresh replicas would each pay that on half the events of the window."""
    published = 0
    handled = [0] * len(processes)
    for _ in range(20):
        if min(handled) >= events:
            break
        batch = ticket_events(max(10, events // 4) * len(processes), datetime.now(timezone.utc))
        publish_all(env.amqp_uri, TICKETS, batch)
        published += len(batch) // 2
        wait_until(lambda target=published: tap.count() >= target, 300, "warm-up hours.verified", interval=0.05)
        handled = [_handled(service_counters(p.metrics_port)) for p in processes]
    return {"events": 2 * published, "handled": handled}


def _handled(counters: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> int:
    return int(sum(value for (name, _), value in counters.items() if name == "yilin_events_handled_total"))


def _replica_sample(process: ServiceProcess) -> dict[str, Any]:
    quota = process.cpu_quota
    cpu = quota.usage_seconds() if quota is not None else None
    return {
        "cpu_seconds": cpu if cpu is not None else process_seconds(process.pid, reaped_children=True),
        "throttling": quota.throttling() if quota is not None else {},
        "counters": service_counters(process.metrics_port),
    }


def _replica_detail(
    before: dict[str, Any], after: dict[str, Any], elapsed: float, cpu_limit: float | None
) -> dict[str, Any]:
    cpu = (after["cpu_seconds"] or 0.0) - (before["cpu_seconds"] or 0.0)
    detail: dict[str, Any] = {"cpu_seconds": round(cpu, 3), "cpu_cores": round(cpu / elapsed, 3)}
    if cpu_limit:
        detail["of_limit"] = round(cpu / elapsed / cpu_limit, 3)
    if after["throttling"]:
        detail["throttled_periods"] = after["throttling"]["nr_throttled"] - before["throttling"]["nr_throttled"]
        detail["periods"] = after["throttling"]["nr_periods"] - before["throttling"]["nr_periods"]
    handled: dict[str, int] = {}
    published: dict[str, int] = {}
    for (name, labels), value in after["counters"].items():
        delta = int(value - before["counters"].get((name, labels), 0.0))
        label = dict(labels)
        if name == "yilin_events_handled_total" and delta:
            handled[label["outcome"]] = handled.get(label["outcome"], 0) + delta
        elif name == "yilin_events_published_total" and delta:
            published[label["type"]] = published.get(label["type"], 0) + delta
    detail["events_handled"] = sum(handled.values())
    detail["events_handled_by_outcome"] = handled
    detail["events_published"] = published
    return detail


def service_counters(metrics_port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The event counters a service process exposes on its metrics port, by sample name
    and labels (empty when the endpoint does not answer)."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    except requests.RequestException:
        return {}
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in ("yilin_events_handled_total", "yilin_events_published_total")
    }


def paced_latency(env: Environment, tap: VerifiedTap, rate: float, seconds: float) -> dict[str, Any]:
    """Tickets at ``rate`` events/s for ``seconds``; p50/p99 from the triggering
    event's occurred_at to the commit that verified its hours."""
    publisher = PipelinedPublisher(env.amqp_uri)
    already = len(tap.received)
    sent: dict[str, datetime] = {}
    tick = 0.05
    per_tick = max(1, int(rate * tick / 2))  # tickets per tick (two events each)
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        batch = ticket_events(per_tick, datetime.now(timezone.utc))
        for body in batch:
            sent[body["correlation_id"]] = datetime.fromisoformat(
                body["occurred_at"].replace("Z", "+00:00")
            )  # first envelope
        publisher.publish([Outgoing(TICKETS, b["type"], b, b["id"]) for b in batch])
        eventlet.sleep(max(0.0, tick - (time.perf_counter() - began) % tick))
    publisher.close()
    expected = len(sent) // 2
    wait_until(lambda: len(tap.received) - already >= expected, 120, "paced hours.verified", interval=0.05)
    lags = []
    for _, body in tap.received[already:]:
        trigger = sent.get(correlation_of(body))
        if trigger is not None:
            committed = parse_envelope(body).occurred_at
            lags.append((committed - trigger).total_seconds())
    lags.sort()
    return {
        "tickets": expected,
        "offered_events_per_second": round(len(sent) / seconds, 1),
        "matched": len(lags),
        "p50_ms": round(lags[len(lags) // 2] * 1000, 1) if lags else 0.0,
        "p99_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000, 1) if lags else 0.0,
    }


def run(
    env: Environment,
    tickets: int,
    latency_seconds: float,
    report_memory: Any,
    replicas: int = 1,
    with_latency: bool = True,
    cpu_limit: float | None = None,
    warm_up_events: int = 0,
) -> dict[str, Any]:
    transactions = database_transactions(env)
    run_ = drain(env, tickets, replicas, report_memory, cpu_limit, warm_up_events)
    processes, tap = run_.pop("processes"), run_.pop("tap")
    try:
        if with_latency:
            run_["latency"] = paced_latency(env, tap, run_["per_second"] * 0.5, latency_seconds)
        for i, process in enumerate(processes):
            report_memory(f"hours#{i + 1}" if replicas > 1 else "hours", process.peak_rss_mib())
    finally:
        tap.close()
        for process in processes:  # replicas shut down side by side (~3 s each)
            process.process.terminate()
        for process in processes:
            env.stop(process)
    if not with_latency:
        # Read once the replicas' backends have exited: a backend reports its counts
        # at exit, and only every second or so before.
        after = database_transactions(env)
        events = run_["events"] + run_.get("warm_up", {}).get("events", 0)
        run_["database_transactions_per_event"] = {
            k: round((after[k] - transactions[k]) / events, 2) for k in transactions
        }
    return run_


def database_transactions(env: Environment) -> dict[str, int]:
    """Commits, rollbacks and deadlocks in the run's database so far (start-up and sweeps
    included, so per event they are a little above the handlers' own)."""
    with env.pg() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = current_database()"
        )
        commits, rollbacks, deadlocks = cur.fetchone()
    conn.close()
    return {"commits": commits, "rollbacks": rollbacks, "deadlocks": deadlocks}
