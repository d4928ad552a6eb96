"""A concurrent HTTP load generator in its own processes (so it never shares an event
loop with what it measures): keep-alive connections, a warm-up, then a fixed duration.

    python -m bench.load http://127.0.0.1:8000 /a /b --seconds 5 --processes 2 --threads 8 [--token T]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import threading
import time
from urllib.parse import urlparse

WARMUP_SECONDS = 1.0


def _worker(
    base: str, paths: list[str], token: str | None, start: float, stop: float, offset: int, out: list[tuple[float, int]]
) -> None:
    parsed = urlparse(base)
    headers = {"Connection": "keep-alive"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    i = offset
    while True:
        now = time.time()
        if now >= stop:
            break
        path = paths[i % len(paths)]
        i += 1
        began = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
            status = 0
        if now >= start:
            out.append((time.perf_counter() - began, status))
    conn.close()


def _process(
    base: str,
    paths: list[str],
    token: str | None,
    threads: int,
    start: float,
    stop: float,
    index: int,
    queue: "multiprocessing.Queue[list[tuple[float, int]]]",
) -> None:
    results: list[list[tuple[float, int]]] = [[] for _ in range(threads)]
    pool = [
        threading.Thread(target=_worker, args=(base, paths, token, start, stop, index * threads + t, results[t]))
        for t in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    queue.put([item for chunk in results for item in chunk])


def run(
    base: str, paths: list[str], seconds: float, processes: int = 2, threads: int = 8, token: str | None = None
) -> dict[str, float]:
    """Requests/s (2xx only), p50/p99 latency in ms and the error count."""
    queue: "multiprocessing.Queue[list[tuple[float, int]]]" = multiprocessing.Queue()
    start = time.time() + 0.3 + WARMUP_SECONDS
    stop = start + seconds
    procs = [
        multiprocessing.Process(target=_process, args=(base, paths, token, threads, start, stop, i, queue))
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    samples = [item for _ in procs for item in queue.get()]
    for proc in procs:
        proc.join()
    ok = sorted(latency for latency, status in samples if 200 <= status < 300)
    errors = len(samples) - len(ok)

    def pct(q: float) -> float:
        return round(ok[min(len(ok) - 1, int(q * len(ok)))] * 1000, 2) if ok else 0.0

    return {
        "requests": len(ok),
        "errors": errors,
        "per_second": round(len(ok) / seconds, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--token")
    args = parser.parse_args()
    print(json.dumps(run(args.base, args.paths, args.seconds, args.processes, args.threads, args.token)))


if __name__ == "__main__":
    main()
