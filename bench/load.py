"""A concurrent HTTP load generator in its own processes (so it never shares an event
loop with what it measures): keep-alive connections, a warm-up, then a fixed duration.

:func:`run` reads paths with one token; :func:`run_callers` gives each thread its own
caller (a token and the POSTs it makes in turn), as many signed-in people at once.
Both run the load in a fresh interpreter (``--job``, the job as JSON on stdin), which
forks its worker processes. Forked straight from an eventlet-patched bench process, the
workers would share that process's epoll instance: every socket event of the load woke
the bench's hub (it spun at over half a core, on the very cores being measured) and each
sibling worker's.

    python -m bench.load http://127.0.0.1:8000 /a /b --seconds 5 --processes 2 --threads 8 [--token T]
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import multiprocessing
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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


@dataclass(frozen=True)
class Caller:
    """One signed-in person: a bearer token and the JSON bodies it POSTs, in order, once each."""

    token: str
    posts: list[tuple[str, dict[str, Any]]]


# (when it finished, latency in s, status, the error when no answer came); status -1: out of posts
Answer = tuple[float, float, int, str]


def _caller(base: str, caller: Caller, start: float, stop: float, out: list[Answer]) -> None:
    parsed = urlparse(base)
    headers = {
        "Connection": "keep-alive",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {caller.token}",
    }
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    time.sleep(max(0.0, start - WARMUP_SECONDS - time.time()))  # every caller starts at once
    for path, body in caller.posts:
        if time.time() >= stop:
            break
        began = time.perf_counter()
        error = ""
        try:
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            status, error = 0, type(exc).__name__
        out.append((time.time(), time.perf_counter() - began, status, error))
    else:
        out.append((time.time(), 0.0, -1, ""))  # ran out of posts before the end: the run was sized too small
    conn.close()


def _callers_process(
    base: str, callers: list[Caller], start: float, stop: float, queue: "multiprocessing.Queue[list[Answer]]"
) -> None:
    results: list[list[Answer]] = [[] for _ in callers]
    pool = [
        threading.Thread(target=_caller, args=(base, caller, start, stop, results[i]))
        for i, caller in enumerate(callers)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    queue.put([item for chunk in results for item in chunk])


def run_callers(base: str, callers: list[Caller], seconds: float, processes: int = 4) -> dict[str, Any]:
    """:func:`callers_here` in a fresh process."""
    job = {"base": base, "callers": [dataclasses.asdict(c) for c in callers], "seconds": seconds}
    return _fresh("callers", {**job, "processes": processes})


def callers_here(base: str, callers: list[Caller], seconds: float, processes: int = 4) -> dict[str, Any]:
    """Every caller on its own thread and keep-alive connection, all at once, spread over
    ``processes`` processes. Counted are the answers that arrive in the ``seconds`` after
    the warm-up (a rush's latency may exceed the window, so answers, not requests begun,
    give the rate): 2xx per second, their p50/p99 latency in ms, the other answers by
    status; beside them every 2xx of the run and how many callers ran out of posts."""
    queue: "multiprocessing.Queue[list[Answer]]" = multiprocessing.Queue()
    start = time.time() + 0.5 + WARMUP_SECONDS
    stop = start + seconds
    shares = [callers[i::processes] for i in range(processes)]
    procs = [
        multiprocessing.Process(target=_callers_process, args=(base, share, start, stop, queue)) for share in shares
    ]
    for proc in procs:
        proc.start()
    answers = [item for _ in procs for item in queue.get()]
    for proc in procs:
        proc.join()
    window = [answer for answer in answers if start <= answer[0] < stop and answer[2] != -1]
    result = _summary([(latency, status) for _, latency, status, _ in window], seconds)
    result["answered_ok"] = sum(1 for answer in answers if 200 <= answer[2] < 300)
    result["callers"] = len(callers)
    result["exhausted"] = sum(1 for answer in answers if answer[2] == -1)
    # other answers by status; no answer at all by the error the connection raised
    others = Counter(error or str(status) for _, _, status, error in window if not 200 <= status < 300)
    result["statuses"] = dict(sorted(others.items()))
    return result


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
) -> dict[str, Any]:
    """:func:`run_here` in a fresh process."""
    job = {"base": base, "paths": paths, "seconds": seconds, "processes": processes, "threads": threads}
    return _fresh("paths", {**job, "token": token})


def _fresh(kind: str, job: dict[str, Any]) -> dict[str, Any]:
    """Run a load job in a new interpreter (see the module's docstring) and return its figures."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", "--job", kind],
        cwd=Path(__file__).resolve().parent.parent,  # where ``bench`` is importable from
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=job["seconds"] + 300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.load --job {kind} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_here(
    base: str, paths: list[str], seconds: float, processes: int = 2, threads: int = 8, token: str | None = None
) -> dict[str, Any]:
    """Requests/s (2xx only), p50/p99 latency in ms and the error count, from worker
    processes forked from this one (which must not be eventlet-patched)."""
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
    return _summary(samples, seconds)


def _summary(samples: list[tuple[float, int]], seconds: float) -> dict[str, Any]:
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
    if sys.argv[1:2] == ["--job"]:
        job = json.load(sys.stdin)
        if sys.argv[2] == "callers":
            job["callers"] = [Caller(c["token"], [(p, b) for p, b in c["posts"]]) for c in job["callers"]]
            print(json.dumps(callers_here(**job)))
        else:
            print(json.dumps(run_here(**job)))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--token")
    args = parser.parse_args()
    print(json.dumps(run_here(args.base, args.paths, args.seconds, args.processes, args.threads, args.token)))


if __name__ == "__main__":
    main()
