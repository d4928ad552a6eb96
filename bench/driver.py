"""Which PostgreSQL driver keeps eventlet's hub free? Ten greenthreads each run one
``pg_sleep(0.5)``; a cooperative driver finishes in ~0.5 s, a blocking one in ~5 s.

    python -m bench.driver [--url postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()

import argparse
import json
import time
from typing import Callable
from urllib.parse import urlparse

CONCURRENCY = 10
SLEEP = 0.5


def _psycopg2(url: str) -> Callable[[], None]:
    import psycopg2

    def query() -> None:
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(%s)", (SLEEP,))
        conn.close()

    return query


def _pg8000(url: str) -> Callable[[], None]:
    import pg8000.dbapi

    parts = urlparse(url)

    def query() -> None:
        conn = pg8000.dbapi.connect(
            user=parts.username or "postgres",
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            database=parts.path.lstrip("/") or "postgres",
        )
        cur = conn.cursor()
        cur.execute("SELECT pg_sleep(%s)", (SLEEP,))
        conn.close()

    return query


def measure(query: Callable[[], None]) -> float:
    started = time.perf_counter()
    pool = eventlet.GreenPool(CONCURRENCY)
    for _ in range(CONCURRENCY):
        pool.spawn(query)
    pool.waitall()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    url = parser.parse_args().url
    results = {"ideal_seconds": SLEEP, "serial_seconds": SLEEP * CONCURRENCY}
    for name, factory in (("psycopg2", _psycopg2), ("pg8000", _pg8000)):
        results[f"{name}_seconds"] = round(measure(factory(url)), 3)
    print(f"{CONCURRENCY} concurrent pg_sleep({SLEEP}) under eventlet.monkey_patch():")
    for key, value in results.items():
        print(f"  {key:18} {value:6.2f} s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
