"""The load generator runs apart from the eventlet-patched bench process: its workers once
were forks of that process, shared its epoll instance, and every socket event of the load
woke the bench's hub, which spun at over half a core on the cores being measured."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from bench.environment import ROOT, free_port

# An eventlet-patched process, as `python -m bench` is, drives both kinds of load and
# prints its own CPU time over them with their figures.
DRIVER = """
import eventlet
eventlet.monkey_patch()
import json, sys, time
from bench import load
url = sys.argv[1]
began = time.process_time()
paths = load.run(url, ["/"], 2.0, processes=2, threads=2)
callers = load.run_callers(url, [load.Caller("t", [("/", {"n": 1})])], 0.5, processes=1)
print(json.dumps([time.process_time() - began, paths, callers]))
"""


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[str]:
    """A plain HTTP server (GET answers 200, POST 501) in its own process."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def test_load_from_an_eventlet_process_leaves_that_process_idle(static_server: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, static_server], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    cpu, paths, callers = json.loads(done.stdout.strip().splitlines()[-1])
    assert paths["requests"] > 0 and paths["errors"] == 0, paths
    # the caller's one POST went out (http.server answers it 501) and it then ran out of posts
    assert callers["callers"] == 1 and callers["exhausted"] == 1, callers
    # Forked workers made the driver spin through the whole load (1.2 s and more of CPU
    # for these 2.5 s); run apart, it only starts them and reads their figures.
    assert cpu < 0.5, f"the bench process spent {cpu:.2f} s of CPU while its load ran"
