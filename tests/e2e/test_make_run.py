"""`yilin run` (what `make run` starts) as a real background process with no terminal."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from typing import Any

import requests

from tests.harness import ROOT, free_port, wait_until
from yilin.events import EnvelopeSchema
from yilin.pii import id_check_digit


def test_run_serves_until_sigterm_and_publishes_to_plain_amqp(amqp_uri: str, pg_url: str, tap: Any,
                                                               tmp_path: Any) -> None:
    http_port = free_port()
    env = dict(os.environ, YILIN_AMQP_URI=amqp_uri, YILIN_DATABASE_URL=pg_url,
               YILIN_HTTP_ADDRESS=f"127.0.0.1:{http_port}", YILIN_METRICS_PORT_OFFSET=str(random.randrange(10000, 20000)))
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "yilin.cli", "run"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_until(lambda: "Press Ctrl-C to stop." in (tmp_path / "run.log").read_text() or proc.poll() is not None,
                   timeout=180, interval=0.5, what="the stack to come up")
        output = (tmp_path / "run.log").read_text()
        assert proc.poll() is None, output
        assert f"{base}/openapi.json" in output and "/metrics" in output
        session = requests.Session()
        for line in output.splitlines():  # the printed operator token, when tokens are enabled
            if line.strip().startswith("operator "):
                session.headers["Authorization"] = "Bearer " + line.split()[-1]
        assert session.get(f"{base}/health", timeout=10).json()["status"] == "ok"
        communities = session.get(f"{base}/api/v1/places", params={"level": "community"}).json()["items"]
        assert communities, "the demo district was loaded"

        events = tap("registry")
        first17 = "51012420000101999"
        r = session.post(f"{base}/api/v1/volunteers", json={
            "name": "新志愿者", "id_number": first17 + id_check_digit(first17), "community_id": communities[0]["id"]})
        assert r.status_code == 201, r.text
        [event] = events.wait_for("volunteer.registered")
        assert EnvelopeSchema().validate(event) == {} and event["data"]["volunteer_id"] == r.json()["id"]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, (tmp_path / "run.log").read_text()
    assert processes_with_env(f"YILIN_HTTP_ADDRESS=127.0.0.1:{http_port}") == []


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


def test_run_explains_how_to_start_rabbitmq_when_none_answers(tmp_path: Any) -> None:
    env = dict(os.environ, YILIN_AMQP_URI=f"pyamqp://guest:guest@127.0.0.1:{free_port()}/",
               YILIN_DATABASE_URL=f"sqlite:///{tmp_path}/{{service}}.db")
    result = subprocess.run([sys.executable, "-m", "yilin.cli", "run"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "RabbitMQ is not answering" in result.stderr and "rabbitmq-server" in result.stderr
