"""The whole platform as `yilin run` starts it: real processes, one per service, against
the test broker and a PostgreSQL database of the module's own, with the demo loaded."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from services import METRICS_PORTS, SERVICES
from tests.conftest import _fresh_pg_database
from tests.harness import ROOT, free_port, wait_until

READY_LINE = "Press Ctrl-C to stop."


def _ports_free(ports: list[int]) -> bool:
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def metrics_offset() -> int:
    """A random YILIN_METRICS_PORT_OFFSET whose metrics ports are all free."""
    while True:
        offset = random.randrange(10000, 20000)
        if _ports_free([port + offset for port in METRICS_PORTS.values()]):
            return offset


def stack_ports() -> tuple[int, int]:
    """A gateway port and a metrics port offset for one `yilin run`: all free now, and the
    gateway's port none of the metrics ports (a service started first would take it)."""
    offset = metrics_offset()
    http_port = next(p for p in iter(free_port, None) if p - offset not in METRICS_PORTS.values())
    return http_port, offset


@dataclass
class RunningStack:
    """A `yilin run` process and what tests need to talk to it."""

    process: subprocess.Popen[bytes]
    url: str  # the gateway, e.g. http://127.0.0.1:23456
    metrics_ports: dict[str, int]
    tokens: dict[str, str]  # role → bearer token, as printed
    log_path: Path
    env_marker: str  # an environment entry every process of this stack carries
    exit_code: int | None = field(default=None)
    environment: dict[str, str] = field(default_factory=dict)  # the stack's env, for a client on the same settings

    def session(self, role: str = "operator") -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return session

    def metrics_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.metrics_ports[service]}/metrics"

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def json_logs(self) -> list[dict[str, Any]]:
        """Every line of the output that is a JSON object (the services' logs)."""
        entries = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
        return entries

    def stop(self) -> int:
        """SIGTERM to the supervisor, as Ctrl-C or a process manager would; its exit code."""
        if self.exit_code is None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            self.exit_code = self.process.wait(60)
        return self.exit_code


def processes_with_env(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (the stack's children)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if marker.encode() in handle.read().split(b"\0"):
                    with open(f"/proc/{entry}/stat") as stat:
                        if stat.read().split(")")[-1].split()[0] != "Z":
                            found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def running_stack(amqp_uri: str, pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """`python -m yilinctl.cli run` with JSON logs, up and with the demo district loaded;
    stopped with SIGTERM after the module's tests, which must end it with exit code 0."""
    http_port, offset = stack_ports()
    log_path = tmp_path_factory.mktemp("yilin-run") / "run.log"
    marker = f"YILIN_HTTP_ADDRESS=127.0.0.1:{http_port}"
    env = dict(
        os.environ,
        YILIN_AMQP_URI=amqp_uri,
        YILIN_DATABASE_URL=_fresh_pg_database(pg_database),
        YILIN_HTTP_ADDRESS=f"127.0.0.1:{http_port}",
        YILIN_METRICS_PORT_OFFSET=str(offset),
        YILIN_LOG_FORMAT="json",
    )
    env.pop("YILIN_METRICS_PORT", None)  # would put every service on one port
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "yilinctl.cli", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = RunningStack(
        process,
        f"http://127.0.0.1:{http_port}",
        {name: METRICS_PORTS[name] + offset for name in SERVICES},
        {},
        log_path,
        marker,
        environment=env,
    )
    try:
        wait_until(
            lambda: READY_LINE in stack.output() or process.poll() is not None,
            timeout=120,
            interval=0.3,
            what="`yilin run` to load the demo",
        )
        assert process.poll() is None, stack.output()[-5000:]
        stack.tokens = printed_tokens(stack.output())
        assert "operator" in stack.tokens and "auditor" in stack.tokens, stack.output()[-3000:]
        yield stack
    finally:
        started = time.monotonic()
        code = stack.stop()
    assert code == 0, stack.output()[-5000:]
    leftover = processes_with_env(marker)
    assert leftover == [], f"children still running {time.monotonic() - started:.1f}s after SIGTERM: {leftover}"


def printed_tokens(output: str) -> dict[str, str]:
    """The demo tokens `yilin run` prints under "Demo tokens", role → token."""
    tokens: dict[str, str] = {}
    lines = output.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("Demo tokens"))
    except StopIteration:
        return tokens
    for line in lines[start + 1 :]:
        if line.startswith(READY_LINE):
            break
        parts = line.split()  # children's log lines may interleave; a token line is "role jwt"
        if len(parts) == 2 and parts[1].count(".") == 2 and not line.startswith("{"):
            tokens[parts[0]] = parts[1]
    return tokens
