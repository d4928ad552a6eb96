"""The event pipeline: ticket.resolved and ticket.confirmed events in, verified hours
committed (inbox, ledger, running totals, outbox) and hours.verified out.

Throughput: N tickets' two events published at once to running hours replicas, from
the start of publishing to the N-th hours.verified on the broker. Latency: tickets paced at
half that rate, from each triggering event's ``occurred_at`` to the ``occurred_at`` of
the hours.verified it caused (stamped inside the committing transaction; the event
carries the trigger's correlation id)."""

from __future__ import annotations

import socket
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import eventlet
from kombu import Connection, Exchange, Queue

from bench.baselines import envelope, publish_all
from bench.environment import Environment, wait_until
from yilin.confirms import Outgoing, PipelinedPublisher

TICKETS = Exchange("tickets.events", type="topic", durable=True)
HOURS = Exchange("hours.events", type="topic", durable=True)


def ticket_events(count: int, base: datetime) -> list[dict[str, Any]]:
    """Each ticket's resolution (one volunteer, 30–150 minutes, its own volunteer so no
    day limit interferes) and the resident's confirmation."""
    events = []
    for i in range(count):
        ticket, community = str(uuid.uuid4()), str(uuid.uuid4())
        resolved_at = (base - timedelta(minutes=i % 600)).isoformat().replace("+00:00", "Z")
        events.append(envelope("ticket.resolved", {
            "ticket_id": ticket, "community_id": community, "category_code": "utilities", "team_id": None,
            "resolved_at": resolved_at, "volunteers": [{"volunteer_id": str(uuid.uuid4()), "minutes": 30 + i % 120}]}))
        events.append(envelope("ticket.confirmed", {
            "ticket_id": ticket, "community_id": community, "category_code": "utilities", "rating": 1 + i % 5,
            "automatic": False}))
    return events


class VerifiedTap:
    """Counts hours.verified on the broker with the time each arrived."""

    def __init__(self, amqp_uri: str) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self._conn = Connection(amqp_uri)
        channel = self._conn.channel()
        HOURS.bind(channel).declare()
        queue = Queue(f"bench-tap-{uuid.uuid4().hex[:8]}", exchange=HOURS, routing_key="hours.verified",
                      exclusive=True, auto_delete=True).bind(channel)
        queue.declare()
        self._consumer = self._conn.Consumer(queue, callbacks=[self._on_message], accept=["json"], no_ack=True)
        self._consumer.qos(prefetch_count=1000)
        self._consumer.consume()
        self._running = True
        self._thread = eventlet.spawn(self._drain)

    def _on_message(self, body: Any, message: Any) -> None:
        self.received.append((time.perf_counter(), body))

    def _drain(self) -> None:
        while self._running:
            try:
                self._conn.drain_events(timeout=0.1)
            except socket.timeout:
                pass

    def close(self) -> None:
        self._running = False
        self._thread.wait()
        self._conn.release()


def drain(env: Environment, tickets: int, replicas: int, report_memory: Any) -> dict[str, Any]:
    """Publish a backlog of ``tickets`` tickets' events, start ``replicas`` hours
    processes and time them to the last hours.verified."""
    tap = VerifiedTap(env.amqp_uri)
    events = ticket_events(tickets, datetime.now(timezone.utc))
    # Every replica is up before the backlog arrives, so none competes for the CPU with
    # another's start-up inside the measured window.
    processes = [env.start("hours") for _ in range(replicas)]
    try:
        for process in processes:
            process.wait_ready()
        started = time.perf_counter()  # the replicas take the events as they are published
        publish_all(env.amqp_uri, TICKETS, events)
        wait_until(lambda: len(tap.received) >= tickets, 600, f"{tickets} hours.verified", interval=0.05)
        finished = tap.received[tickets - 1][0]
        elapsed = finished - started
        result = {"tickets": tickets, "events": 2 * tickets, "replicas": replicas, "seconds": round(elapsed, 3),
                  "per_second": round(2 * tickets / elapsed, 1)}
        for i, process in enumerate(processes):
            report_memory(f"hours#{i + 1}" if replicas > 1 else "hours", process.peak_rss_mib())
        return {**result, "processes": processes, "tap": tap}
    except BaseException:
        tap.close()
        for process in processes:
            env.stop(process)
        raise


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
            sent[body["correlation_id"]] = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
        publisher.publish([Outgoing(TICKETS, b["type"], b, b["id"]) for b in batch])
        eventlet.sleep(max(0.0, tick - (time.perf_counter() - began) % tick))
    publisher.close()
    expected = len(sent) // 2
    wait_until(lambda: len(tap.received) - already >= expected, 120, "paced hours.verified", interval=0.05)
    lags = []
    for _, body in tap.received[already:]:
        trigger = sent.get(body.get("correlation_id"))
        if trigger is not None:
            committed = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
            lags.append((committed - trigger).total_seconds())
    lags.sort()
    return {"tickets": expected, "offered_events_per_second": round(len(sent) / seconds, 1), "matched": len(lags),
            "p50_ms": round(lags[len(lags) // 2] * 1000, 1) if lags else 0.0,
            "p99_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000, 1) if lags else 0.0}


def run(env: Environment, tickets: int, latency_seconds: float, report_memory: Any, replicas: int = 1,
        with_latency: bool = True) -> dict[str, Any]:
    run_ = drain(env, tickets, replicas, report_memory)
    processes, tap = run_.pop("processes"), run_.pop("tap")
    try:
        if with_latency:
            run_["latency"] = paced_latency(env, tap, run_["per_second"] * 0.5, latency_seconds)
        for i, process in enumerate(processes):
            report_memory(f"hours#{i + 1}" if replicas > 1 else "hours", process.peak_rss_mib())
    finally:
        tap.close()
        for process in processes:
            env.stop(process)
    return run_
