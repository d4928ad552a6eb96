"""Baselines measured in the same run as the figures they sit beside: a plain AMQP
consumer, a no-op nameko handler, one PostgreSQL connection's durable commits and a bare
nameko HTTP entrypoint."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable

from kombu import Connection, Exchange, Queue

from bench.environment import Environment, run_json, wait_until
from yilin.confirms import Outgoing, PipelinedPublisher
from yilin.topology import event_exchange, handler_queue

PUBLISH_BATCH = 1000


def envelope(
    event_type: str, data: dict[str, Any], source: str = "tickets", correlation_id: str | None = None
) -> dict[str, Any]:
    """An event as a producer service would publish it."""
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "source": source,
        "occurred_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "correlation_id": correlation_id or str(uuid.uuid4()),
        "data": data,
    }


def publish_all(amqp_uri: str, exchange: Exchange, bodies: Iterable[dict[str, Any]]) -> int:
    """Publish persistent messages in confirmed batches; return how many."""
    publisher = PipelinedPublisher(amqp_uri, timeout=60)
    batch: list[Outgoing] = []
    count = 0
    for body in bodies:
        batch.append(Outgoing(exchange, body["type"], body, body["id"]))
        if len(batch) == PUBLISH_BATCH:
            count += publisher.publish(batch)
            batch = []
    if batch:
        count += publisher.publish(batch)
    publisher.close()
    return count


def sample_body(i: int) -> dict[str, Any]:
    return envelope(
        "bench.noop",
        {
            "ticket_id": str(uuid.uuid4()),
            "community_id": str(uuid.uuid4()),
            "category_code": "utilities",
            "rating": 1 + i % 5,
            "automatic": False,
        },
        source="benchsource",
    )


def raw_amqp(env: Environment, count: int) -> dict[str, Any]:
    """A plain consumer (py-amqp, no framework) acking a backlog of ``count`` messages
    from a quorum queue like the services' own."""
    exchange = Exchange("bench.raw", type="topic", durable=True)
    queue = Queue(
        "bench.raw", exchange=exchange, routing_key="#", durable=True, queue_arguments={"x-queue-type": "quorum"}
    )
    with Connection(env.amqp_uri) as conn:
        queue.bind(conn.channel()).declare()
    publish_all(env.amqp_uri, exchange, (sample_body(i) for i in range(count)))
    return run_json("bench.probes", "amqp", env.amqp_uri, queue.name, str(count))


def drain_rate(env: Environment, queue: str, total: int, timeout: float) -> dict[str, float]:
    """Poll a queue's depth while a consumer drains a backlog of ``total``: the rate
    from the first message taken to the queue being empty."""
    first = wait_until(
        lambda: (lambda d: (time.perf_counter(), d) if d < total else None)(env.queue_depth(queue)[0]),
        timeout,
        f"{queue} to start draining",
        interval=0.01,
    )
    started, depth = first
    wait_until(lambda: env.queue_depth(queue)[0] == 0, timeout, f"{queue} to drain", interval=0.02)
    elapsed = time.perf_counter() - started
    return {"messages": depth, "seconds": round(elapsed, 3), "per_second": round(depth / elapsed, 1)}


def noop_handler(env: Environment, count: int) -> dict[str, Any]:
    """A nameko service whose handler does nothing, draining a backlog of ``count``."""
    from bench.baseline_services import NOOP_EVENT, NOOP_SOURCE

    queue = handler_queue(NOOP_SOURCE, NOOP_EVENT, "noop", "handle")
    with Connection(env.amqp_uri) as conn:
        channel = conn.channel()
        for bound in queue.bindings:  # the source's exchange and the handler's retry exchange
            bound.exchange.bind(channel).declare()
        queue.bind(channel).declare()
    publish_all(env.amqp_uri, event_exchange(NOOP_SOURCE), (sample_body(i) for i in range(count)))
    process = env.start("noop", module="bench.baseline_services", args=("noop",))
    try:
        result = drain_rate(env, queue.name, count, timeout=300)
        result["peak_rss_mib"] = process.peak_rss_mib()
    finally:
        env.stop(process)
    return result


def durable_commits(env: Environment, seconds: float) -> dict[str, Any]:
    return run_json("bench.probes", "commits", env.database_url, str(seconds))
