"""`yilin run` (what `make run` starts) as a real background process with no terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from tests.e2e.conftest import RunningStack, metrics_offset, processes_with_env
from tests.harness import ROOT, free_port
from yilin.events import EnvelopeSchema
from yilin.pii import id_check_digit


def test_run_prints_urls_and_serves_the_demo(running_stack: RunningStack) -> None:
    output = running_stack.output()
    assert f"{running_stack.url}/openapi.json" in output
    assert all(running_stack.metrics_url(name) in output for name in running_stack.metrics_ports)
    session = running_stack.session()
    assert session.get(f"{running_stack.url}/health", timeout=10).json()["status"] == "ok"
    communities = session.get(f"{running_stack.url}/api/v1/places", params={"level": "community"}).json()["items"]
    assert communities, "the demo district was loaded"


def test_run_publishes_to_a_plain_amqp_subscriber(running_stack: RunningStack, tap: Any) -> None:
    session = running_stack.session()
    community = session.get(f"{running_stack.url}/api/v1/places", params={"level": "community"}).json()["items"][0]
    events = tap("registry")
    first17 = "51012420000101999"
    r = session.post(f"{running_stack.url}/api/v1/volunteers", json={
        "name": "新志愿者", "id_number": first17 + id_check_digit(first17), "community_id": community["id"]})
    assert r.status_code == 201, r.text
    [event] = events.wait_for("volunteer.registered")
    assert EnvelopeSchema().validate(event) == {} and event["data"]["volunteer_id"] == r.json()["id"]


def test_sigterm_stops_every_process_with_exit_0(running_stack: RunningStack) -> None:
    # the last test of this module: the fixture's teardown finds the stack already stopped
    assert processes_with_env(running_stack.env_marker), "the services run as children carrying the stack's env"
    assert running_stack.stop() == 0, running_stack.output()[-5000:]
    assert processes_with_env(running_stack.env_marker) == []


def test_run_explains_how_to_start_rabbitmq_when_none_answers(tmp_path: Any) -> None:
    env = dict(os.environ, YILIN_AMQP_URI=f"pyamqp://guest:guest@127.0.0.1:{free_port()}/",
               YILIN_DATABASE_URL=f"sqlite:///{tmp_path}/{{service}}.db")
    result = subprocess.run([sys.executable, "-m", "yilin.cli", "run"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "RabbitMQ is not answering" in result.stderr and "rabbitmq-server" in result.stderr


def test_a_service_that_cannot_start_is_named_in_one_line_without_a_traceback(amqp_uri: str, tmp_path: Any) -> None:
    env = dict(os.environ, YILIN_AMQP_URI=amqp_uri, YILIN_DATABASE_URL=f"sqlite:///{tmp_path}/{{service}}.db",
               YILIN_HTTP_ADDRESS=f"127.0.0.1:{free_port()}", YILIN_METRICS_PORT_OFFSET=str(metrics_offset()),
               YILIN_CERTIFICATE_KEY="")  # the hours service cannot sign certificates without it
    env.pop("YILIN_METRICS_PORT", None)
    result = subprocess.run([sys.executable, "-m", "yilin.cli", "run", "--no-demo"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    failures = [line for line in output.splitlines() if "failed to start" in line]
    assert failures == ["hours failed to start: ConfigurationError: CERTIFICATE_KEY (YILIN_CERTIFICATE_KEY) "
                        "is required"], output
    assert "Traceback" not in output, output
