"""Raw baselines, each run in its own plain process (no eventlet, no nameko), printing
one JSON line:

    python -m bench.probes amqp URI QUEUE COUNT     # a plain AMQP consumer draining COUNT
    python -m bench.probes commits URL SECONDS      # one PostgreSQL connection's durable commits
"""

from __future__ import annotations

import json
import sys
import time

PREFETCH = 100


def drain_amqp(uri: str, queue: str, count: int) -> dict[str, float]:
    """Consume and ack ``count`` messages one by one; rate from the first to the last."""
    from kombu import Connection

    with Connection(uri) as conn:
        raw = conn.connection
        channel = raw.channel()
        channel.basic_qos(0, PREFETCH, False)
        seen = {"n": 0, "first": 0.0, "last": 0.0}

        def on_message(message: object) -> None:
            if not seen["n"]:
                seen["first"] = time.perf_counter()
            channel.basic_ack(message.delivery_tag)  # type: ignore[attr-defined]
            seen["n"] += 1
            seen["last"] = time.perf_counter()

        channel.basic_consume(queue, callback=on_message)
        while seen["n"] < count:
            raw.drain_events(timeout=30)
    elapsed = seen["last"] - seen["first"]
    return {"messages": count, "seconds": round(elapsed, 3), "per_second": round((count - 1) / elapsed, 1)}


def durable_commits(url: str, seconds: float) -> dict[str, float]:
    """Insert one small row and commit, on one connection, for ``seconds``
    (``synchronous_commit`` on: each commit waits for the WAL flush)."""
    import psycopg2

    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        sync = cur.fetchone()[0]
        cur.execute("CREATE TABLE IF NOT EXISTS bench_commits (id bigserial PRIMARY KEY, payload text)")
    conn.commit()
    count = 0
    started = time.perf_counter()
    with conn.cursor() as cur:
        while time.perf_counter() - started < seconds:
            cur.execute("INSERT INTO bench_commits (payload) VALUES (%s)", ("x" * 64,))
            conn.commit()
            count += 1
    elapsed = time.perf_counter() - started
    with conn.cursor() as cur:
        cur.execute("DROP TABLE bench_commits")
    conn.commit()
    conn.close()
    return {"commits": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1),
            "synchronous_commit": sync}


def main() -> None:
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "amqp":
        result = drain_amqp(args[0], args[1], int(args[2]))
    elif kind == "commits":
        result = durable_commits(args[0], float(args[1]))
    else:
        raise SystemExit(f"unknown probe {kind}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
