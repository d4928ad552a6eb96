"""A subscriber in another language: examples/node_subscriber (Node.js, amqplib) reads
Yilin's CloudEvents from its own queue bound to an events exchange, against the real
broker, with events published by the outbox relay's own publishing path."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

import pytest
from kombu import Connection

from services.registry.events import EVENTS
from tests.harness import ROOT
from yilin.events import TYPE_PREFIX, schema_uri
from yilin.outbox import OutboxRelay
from yilin.topology import event_exchange

EXAMPLE = ROOT / "examples" / "node_subscriber"
DEADLINE = 60.0  # generous: a loaded machine, a cold Node start


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20+ is required for examples/node_subscriber (apt-get install nodejs npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version.strip().lstrip("v").split(".")[0]) >= 20, f"Node.js 20+ is required, found {version}"
    if not (EXAMPLE / "node_modules" / "amqplib").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is required to install the example's pinned amqplib")
        # Exactly the committed lock; no install scripts.
        subprocess.run(
            [npm, "ci", "--prefix", str(EXAMPLE), "--ignore-scripts", "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
        )
    return node


class Lines:
    """A child's stdout, line by line, read on a thread so the test can wait with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # end of output: the process exited

    def next(self, deadline: float) -> str | None:
        """The next line, or None at end of output or past ``deadline`` (monotonic)."""
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if line is not None:
            self.seen.append(line)
        return line


def test_node_subscriber_reads_cloudevents_from_its_own_queue(node: str, amqp_uri: str, tmp_path: Path) -> None:
    queue_name = f"sub-node-test.{uuid.uuid4().hex[:8]}"
    exchange = event_exchange("registry")
    with Connection(amqp_uri) as conn:  # as `yilin migrate` does: the exchange exists before subscribers bind
        exchange(conn.default_channel).declare()
    stderr_path = tmp_path / "node.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [
                node,
                str(EXAMPLE / "index.mjs"),
                "--url",
                "amqp" + amqp_uri[len("pyamqp") :],
                "--queue",
                queue_name,
                "--bind",
                "registry.events:volunteer.*",
                "--bind",
                "registry.events:team.created",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ},
        )
    assert process.stdout is not None
    lines = Lines(process.stdout)

    def failure(what: str) -> str:
        return f"{what}\nstdout: {lines.seen}\nstderr: {stderr_path.read_text()}\nexit: {process.poll()}"

    relay = OutboxRelay(None, None, amqp_uri, "registry")  # type: ignore[arg-type]  # publishing needs no database
    try:
        deadline = time.monotonic() + DEADLINE
        while (line := lines.next(deadline)) != "ready":
            assert line is not None, failure("the Node subscriber never became ready")

        correlation = str(uuid.uuid4())
        volunteer, team = str(uuid.uuid4()), str(uuid.uuid4())
        published = [
            EVENTS.envelope(
                "volunteer.registered",
                {
                    "volunteer_id": volunteer,
                    "volunteer_number": "YL0001",
                    "community_id": str(uuid.uuid4()),
                    "skills": [],
                    "certifications": [],
                    "status": "active",
                },
                correlation,
            ),
            EVENTS.envelope(
                "team.created",
                {
                    "team_id": team,
                    "code": "SUN",
                    "organisation_id": str(uuid.uuid4()),
                    "community_id": str(uuid.uuid4()),
                    "professional": False,
                    "domain": None,
                    "skills": [],
                },
                correlation,
            ),
            EVENTS.envelope("team.member_joined", {"team_id": team, "volunteer_id": volunteer, "role": "member"}, None),
        ]
        relay.publish_many(published)  # confirmed by the broker on return

        wanted = {e.id: e for e in published if e.type != "team.member_joined"}  # not bound: never arrives
        received: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + DEADLINE
        while set(received) != set(wanted):
            line = lines.next(deadline)
            assert line is not None, failure(f"{len(received)} of {len(wanted)} events arrived")
            event = json.loads(line)
            received[event["id"]] = event
        for event_id, envelope in wanted.items():
            event = received[event_id]
            assert event["type"] == TYPE_PREFIX + envelope.type and event["routingKey"] == envelope.type
            assert event["source"] == "urn:yilin:service:registry"
            assert event["dataschema"] == schema_uri(envelope.type, 1) and event["dataversion"] == 1
            assert event["correlationid"] == correlation
            assert event["data"] == envelope.data
    finally:
        relay.publisher.close()
        process.terminate()
        try:
            process.wait(10)
        finally:
            with Connection(amqp_uri) as conn:
                conn.default_channel.queue_delete(queue_name)
    assert process.returncode == 0, failure("the Node subscriber did not stop cleanly")
    assert "rejecting" not in stderr_path.read_text()
