"""Raw baselines, each run in its own plain process (no eventlet, no nameko), printing
one JSON line:

    python -m bench.probes amqp URI QUEUE COUNT     # a plain AMQP consumer draining COUNT
    python -m bench.probes commits URL SECONDS      # one PostgreSQL connection's durable commits
    python -m bench.probes copy URL SCHEMA TABLE... # COPY of a table's rows into an empty twin
    python -m bench.probes sql URL SCHEMA FILE      # load SQL (COPY/generate_series) from a file
    python -m bench.probes queries URL SCHEMA FILE  # p50/p99 of named SQL queries
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
            channel.basic_ack(message.delivery_tag)  # type: ignore[attr-defined]  # pika's channel, untyped
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
    return {
        "commits": count,
        "seconds": round(elapsed, 3),
        "per_second": round(count / elapsed, 1),
        "synchronous_commit": sync,
    }


def copy_twins(url: str, schema: str, tables: list[str]) -> dict[str, float]:
    """``COPY`` the rows of ``tables`` (the first one counted), exactly as stored, into
    empty twins with the same columns, indexes and constraints; time only the COPY in."""
    import io

    import psycopg2

    conn = psycopg2.connect(url, options=f"-csearch_path={schema}")
    rows, elapsed = 0, 0.0
    with conn.cursor() as cur:
        for table in tables:
            buffer = io.StringIO()
            cur.copy_expert(f"COPY {table} TO STDOUT", buffer)
            buffer.seek(0)
            cur.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
            conn.commit()
            began = time.perf_counter()
            cur.copy_expert(f"COPY bench_{table} FROM STDIN", buffer)
            conn.commit()
            elapsed += time.perf_counter() - began
            if table == tables[0]:
                cur.execute(f"SELECT count(*) FROM bench_{table}")
                rows = cur.fetchone()[0]
        for table in tables:
            cur.execute(f"DROP TABLE bench_{table}")
        conn.commit()
    conn.close()
    return {"rows": rows, "seconds": round(elapsed, 3), "per_second": round(rows / elapsed, 1)}


def run_sql(url: str, schema: str, path: str) -> dict[str, float]:
    """Run a SQL script (bulk loads) in one transaction; report its duration."""
    import psycopg2

    conn = psycopg2.connect(url, options=f"-csearch_path={schema}")
    began = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(open(path).read())
    conn.commit()
    conn.close()
    return {"seconds": round(time.perf_counter() - began, 2)}


def time_queries(url: str, schema: str, path: str) -> dict[str, dict[str, float]]:
    """p50/p99 of each named query over its parameter list, sequentially, ms, after an
    untimed pass over the same list."""
    import psycopg2

    spec = json.load(open(path))
    conn = psycopg2.connect(url, options=f"-csearch_path={schema}")
    conn.autocommit = True
    results = {}
    with conn.cursor() as cur:
        for name, sql in spec["queries"].items():
            params = spec["params"][name]
            # an untimed pass over the same parameters first: a standing query runs over a
            # warm working set, and what is timed then is the query, not which pages the
            # ledger's last load happened to leave in memory
            for p in params:
                cur.execute(sql, p)
                cur.fetchall()
            times = []
            for p in params:
                began = time.perf_counter()
                cur.execute(sql, p)
                cur.fetchall()
                times.append(time.perf_counter() - began)
            times.sort()
            results[name] = {
                "samples": len(times),
                "p50_ms": round(times[len(times) // 2] * 1000, 2),
                "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 2),
            }
    conn.close()
    return results


def main() -> None:
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "amqp":
        result = drain_amqp(args[0], args[1], int(args[2]))
    elif kind == "commits":
        result = durable_commits(args[0], float(args[1]))
    elif kind == "copy":
        result = copy_twins(args[0], args[1], args[2:])
    elif kind == "queries":
        result = time_queries(args[0], args[1], args[2])
    elif kind == "sql":
        result = run_sql(args[0], args[1], args[2])
    else:
        raise SystemExit(f"unknown probe {kind}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
