"""Fixtures of the fault suite: stream size, the broker safety net and the report.

``YILIN_CHAOS_EVENTS`` sets how many events each fault's stream carries (small by
default so ``make test`` stays quick; ``make chaos`` sets it large). Every fault test
adds one line to the report printed at the end of the run, and the last line sums them:
``chaos: faults=F events=N redelivered=R lost=L duplicated=D``."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest

CHAOS_EVENTS = int(os.environ.get("YILIN_CHAOS_EVENTS", "400"))


def rabbitmqctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def broker_running() -> bool:
    """Whether the RabbitMQ application (not just the Erlang node) is up."""
    result = rabbitmqctl("eval", "lists:keymember(rabbit, 1, application:which_applications()).", timeout=30)
    return result.stdout.strip() == "true"


def ensure_broker_started() -> None:
    if not broker_running():
        rabbitmqctl("start_app", timeout=120)


@dataclass
class ChaosReport:
    """One line per fault, and the totals."""

    lines: list[str] = field(default_factory=list)
    faults: int = 0
    events: int = 0
    redelivered: int = 0
    lost: int = 0
    duplicated: int = 0

    def add(self, line: str, *, faults: int, events: int, redelivered: int, lost: int, duplicated: int) -> None:
        self.lines.append(line)
        self.faults += faults
        self.events += events
        self.redelivered += redelivered
        self.lost += lost
        self.duplicated += duplicated

    def summary(self) -> str:
        return (
            f"chaos: faults={self.faults} events={self.events} redelivered={self.redelivered} "
            f"lost={self.lost} duplicated={self.duplicated}"
        )


REPORT = ChaosReport()


@pytest.fixture(scope="session")
def chaos_report() -> ChaosReport:
    return REPORT


@pytest.fixture(scope="session")
def chaos_events() -> int:
    return max(20, CHAOS_EVENTS)


@pytest.fixture(scope="session", autouse=True)
def broker_safety_net() -> Iterator[None]:
    """Whatever a fault test did to the shared broker, it is running when the session
    ends (each test also restores it in its own ``finally``)."""
    yield
    ensure_broker_started()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT.lines:
        return
    terminalreporter.section("chaos")
    for line in REPORT.lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(REPORT.summary())
