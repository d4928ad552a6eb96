"""One fault run: a consumer (or several) as real processes, a stream of work, and
the reckoning afterwards."""

from __future__ import annotations

import re
import subprocess
import time

import requests

from tests.faults.stream import StreamPublisher, Unit, Verdict, classify, make_units, stream, wait_for
from tests.faults.targets import Target, dlq_depth, queue_depths
from tests.harness import ServiceProcess

HANDLED = re.compile(r"^yilin_events_handled_total\{([^}]*)\}\s+([0-9.e+]+)$", re.M)
REDELIVERED = re.compile(r"^yilin_events_redelivered_total\{[^}]*\}\s+([0-9.e+]+)$", re.M)
HELD = re.compile(r"^yilin_events_held\{[^}]*\}\s+([0-9.e+-]+)$", re.M)


def held(process: ServiceProcess) -> int:
    """Deliveries the process holds unsettled right now (0 if it is not answering)."""
    try:
        text = requests.get(f"http://127.0.0.1:{process.metrics_port}/metrics", timeout=2).text
    except requests.RequestException:
        return 0
    return int(sum(float(value) for value in HELD.findall(text)))


def handled(process: ServiceProcess) -> dict[str, float]:
    """The process's ``yilin_events_handled_total`` summed by outcome (empty if it is
    not answering)."""
    try:
        text = requests.get(f"http://127.0.0.1:{process.metrics_port}/metrics", timeout=2).text
    except requests.RequestException:
        return {}
    totals: dict[str, float] = {}
    for labels, value in HANDLED.findall(text):
        outcome = re.search(r'outcome="([^"]+)"', labels).group(1)
        totals[outcome] = totals.get(outcome, 0.0) + float(value)
    # deliveries the broker marked as repeated, whatever became of them
    totals["broker_redelivered"] = sum(float(value) for value in REDELIVERED.findall(text))
    return totals


class Scenario:
    """Drives ``events`` events (two per unit) into ``target`` and classifies the result."""

    def __init__(self, target: Target, amqp_uri: str, database_url: str, events: int, seconds: float) -> None:
        """``seconds``: how long the stream should flow; confirmations trail their
        resolutions by a quarter of it, at least 3 s."""
        self.target = target
        self.amqp_uri = amqp_uri
        self.database_url = database_url
        self.units: list[Unit] = make_units(max(10, events // 2))
        self.rate = 2 * len(self.units) / seconds
        lag = max(1, int(max(3.0, seconds / 4) * self.rate / 2))
        self.envelopes = stream(self.units, lag)
        self.processes: list[ServiceProcess] = []
        self.duplicates_skipped = 0.0  # from /metrics of processes before they went away
        self.broker_redelivered = 0.0  # likewise: deliveries the broker marked as repeated
        self.publisher: StreamPublisher | None = None
        target.prepare({"AMQP_URI": amqp_uri, "DATABASE_URL": database_url})

    # -- processes -----------------------------------------------------------------------
    def start(
        self, amqp_uri: str | None = None, database_url: str | None = None, wait: bool = True, **env: str
    ) -> ServiceProcess:
        env.setdefault("YILIN_LOG_LEVEL", "WARNING")
        process = ServiceProcess(
            self.target.process, amqp_uri or self.amqp_uri, database_url or self.database_url, **env
        )
        self.processes.append(process)
        return process.wait_ready(60) if wait else process

    def scrape(self, process: ServiceProcess) -> None:
        """Keep what the process counted before it goes."""
        counted = handled(process)
        self.duplicates_skipped += counted.get("duplicate_skipped", 0.0)
        self.broker_redelivered += counted.get("broker_redelivered", 0.0)

    def stop_all(self) -> None:
        """SIGTERM every process still running; SIGKILL any that does not stop in time,
        so no test leaves a consumer behind on the shared broker."""
        for process in self.processes:
            if process.process.poll() is None:
                self.scrape(process)
                try:
                    process.terminate(60)
                except subprocess.TimeoutExpired:
                    process.kill()

    # -- the stream ------------------------------------------------------------------------
    def publish(self) -> StreamPublisher:
        self.publisher = StreamPublisher(self.amqp_uri).start(self.envelopes, self.rate)
        return self.publisher

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until everything published has been handled and nothing is queued; by
        default as long as the stream's size needs on a loaded 2-core machine (a fixed
        bound that fits the reduced run times out at full size without anything wrong)."""
        assert self.publisher is not None
        timeout = timeout or self.patience()
        self.publisher.wait(timeout)
        expected = len(self.envelopes)

        def drained() -> bool:
            # Dead-lettered messages are accounted for too: they wait for the operator.
            _, committed = self.target.inbox_stats(self.database_url)
            parked = self.dead_lettered()
            return committed + parked >= expected and queue_depths(self.amqp_uri, self.target.cls()) == 0

        return wait_for(drained, timeout, interval=1.0)

    def patience(self, floor: float = 180.0) -> float:
        """Seconds to wait for the whole stream: ``floor``, or 40 ms an event when longer."""
        return max(floor, 0.04 * len(self.envelopes))

    # -- the reckoning -----------------------------------------------------------------------
    def verdict(self) -> Verdict:
        recorded, verified = self.target.read(self.database_url)
        return classify(self.units, recorded, verified)

    def redelivered(self) -> int:
        """Deliveries the broker had to repeat: transactions a fault rolled back (their
        inbox inserts never committed) plus duplicates the inbox skipped."""
        time.sleep(1.0)  # PostgreSQL publishes a backend's table statistics within a second
        inserted, committed = self.target.inbox_stats(self.database_url)
        return (inserted - committed) + int(self.duplicates_skipped)

    def dead_lettered(self) -> int:
        return dlq_depth(self.amqp_uri, self.target.service)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-3000:]}" for p in self.processes)
