"""The internal read server's own CPU per read, two trees compared in turns: a service
with one read answering a constant (no database) on its internal HTTP server, from this
checkout and from ``--before DIR`` (another checkout with its own ``.venv``), loaded by
this process through :class:`yilin.readpool.Pool` with 16 green threads.

    python -m bench.read_server_ab --before /path/to/other/checkout [--rounds 6] [--seconds 3]

Prints each turn's server CPU per read (µs, from ``/proc``) and reads per second, then
the medians. What it measures is the hop's far end: the server, the identity check,
nameko's worker and the answer's JSON."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()

import argparse
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ANSWER = {
    "id": "3f1c0e9a-1111-4222-8333-444455556666",
    "name": "志愿者",
    "community_id": "c" * 36,
    "skills": ["first-aid", "driving"],
    "minutes": 720,
}


def serve(amqp_uri: str, address: str) -> None:
    """Run the constant read's service until SIGTERM (in the tree this file runs from)."""
    from nameko.containers import ServiceContainer

    from yilin.httpreads import read_rpc

    class ConstantReads:
        name = "constantreads"

        @read_rpc
        def get(self, some_id: str) -> dict[str, Any]:
            return ANSWER

    config = {
        "AMQP_URI": amqp_uri,
        "INTERNAL_HTTP_ADDRESS": address,
        "ENVIRONMENT": "development",
        "serializer": "json",
        "max_workers": 10,
    }
    container = ServiceContainer(ConstantReads, config)
    container.start()
    signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn(container.stop))
    print("ready", flush=True)
    container.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--serve", nargs=2, metavar=("AMQP_URI", "ADDRESS"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(*options.serve)
        return

    from bench.environment import ROOT, Environment, free_port
    from yilin.identity import Identity, sign_assertion

    trees = {"before": options.before.resolve(), "after": ROOT}
    assertion = sign_assertion({"ENVIRONMENT": "development"}, Identity(subject="bench", role="operator"), "gateway")
    with Environment.create() as env:
        servers: dict[str, subprocess.Popen[bytes]] = {}
        ports = {name: free_port() for name in trees}
        try:
            for name, root in trees.items():
                command = [str(root / ".venv/bin/python"), __file__, "--before", ".", "--serve"]
                servers[name] = subprocess.Popen(
                    [*command, env.amqp_uri, f"127.0.0.1:{ports[name]}"],
                    cwd=root,
                    env={**os.environ, "PYTHONPATH": str(root)},
                    stdout=subprocess.PIPE,
                )
            for server in servers.values():
                assert server.stdout is not None and server.stdout.readline().startswith(b"ready")
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
            for round_ in range(options.rounds):
                for name in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
                    url = f"http://127.0.0.1:{ports[name]}"
                    cpu, count = _load(url, assertion, servers[name].pid, options.seconds)
                    results[name].append((cpu * 1e6 / count, count / options.seconds))
                    print(
                        f"{name:6} {results[name][-1][0]:5.0f} µs/read server CPU, {results[name][-1][1]:5.0f} reads/s, "
                        f"load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(20)
    for name, runs in results.items():
        print(
            f"{name:6} median {statistics.median(r[0] for r in runs):.0f} µs/read, best {min(r[0] for r in runs):.0f}"
        )


def _load(url: str, assertion: str, pid: int, seconds: float) -> tuple[float, int]:
    """The server's CPU seconds and the reads answered in ``seconds`` of 16 readers."""
    from bench.environment import cpu_seconds
    from yilin.httpreads import IDENTITY_KEY, HttpReadProxy
    from yilin.readpool import Pool

    pool = Pool(url, 5)
    proxy = HttpReadProxy(pool, "constantreads", SimpleNamespace(data={IDENTITY_KEY: assertion}))
    done, running = [0], [True]

    def reader() -> None:
        while running[0]:
            proxy.get("x")
            done[0] += 1

    threads = [eventlet.spawn(reader) for _ in range(16)]
    eventlet.sleep(0.5)  # warm
    cpu, count = cpu_seconds(pid), done[0]
    eventlet.sleep(seconds)
    cpu, count = cpu_seconds(pid) - cpu, done[0] - count
    running[0] = False
    for thread in threads:
        thread.wait()
    pool.close()
    return cpu, count


if __name__ == "__main__":
    sys.exit(main())
