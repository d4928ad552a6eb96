"""``yilin broker-users`` against a real RabbitMQ: a private node of the installed server
with the management plugin (never the shared broker on 5672) gets the users and
permissions of deploy/compose/rabbitmq/broker-users.json through its management API, as
compose's ``broker-users`` step does. Then, with a plain AMQP client, a service user
declares, binds, publishes to and consumes from its own exchange and queue, and is
refused on another service's; the node stops at the end whatever happens."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pika
import pika.exceptions
import pytest
import requests

from tests.harness import ROOT
from yilinctl.local_cluster import Cluster

DEFINITIONS = ROOT / "deploy" / "compose" / "rabbitmq" / "broker-users.json"
SERVICES = ("gateway", "registry", "tickets", "hours", "fund", "activities")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[Any, int]]:
    """One private node with the management API on a free port: ``(node, management port)``."""
    management = _free_port()
    broker = Cluster(
        size=1,
        plugins=("rabbitmq_management",),
        conf=f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {management}\n",
    )
    started = time.monotonic()
    try:
        broker.start()
        url = f"http://127.0.0.1:{management}/api/overview"
        deadline = time.monotonic() + 60
        while not _answers(url):
            assert time.monotonic() < deadline, "the management API did not answer"
            time.sleep(0.5)
        print(f"private node with management up in {time.monotonic() - started:.1f} s")
        yield broker.nodes[0], management
    finally:
        broker.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, auth=("guest", "guest"), timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _apply(management: int, passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "YILIN_BROKER_MANAGEMENT_URL": f"http://127.0.0.1:{management}",
        "YILIN_BROKER_ADMIN_USER": "guest",
        "YILIN_BROKER_ADMIN_PASSWORD": "guest",
        **{f"YILIN_BROKER_PASSWORD_{s.upper()}": p for s, p in passwords.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "yilinctl.cli", "broker-users", str(DEFINITIONS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _channel(port: int, user: str, password: str) -> Any:
    params = pika.ConnectionParameters("127.0.0.1", port, "/", pika.PlainCredentials(user, password))
    channel = pika.BlockingConnection(params).channel()
    channel.confirm_delivery()  # a refused publish closes the channel instead of vanishing
    return channel


def _refused(action: Any) -> bool:
    try:
        action()
    except pika.exceptions.ChannelClosedByBroker as closed:
        return closed.reply_code == 403
    return False


def test_broker_users_grants_each_service_its_own_queues_on_a_real_broker(node: tuple[Any, int]) -> None:
    amqp, management = node[0].port, node[1]
    passwords = {s: f"{s}-password-{i}" for i, s in enumerate(SERVICES)}
    done = _apply(management, passwords)
    assert done.returncode == 0 and "changes applied" in done.stdout, done.stdout + done.stderr
    again = _apply(management, passwords)  # a rerun (compose restarts the step) changes nothing
    assert again.returncode == 0, again.stdout + again.stderr
    users = requests.get(f"http://127.0.0.1:{management}/api/users", auth=("guest", "guest"), timeout=10).json()
    assert {u["name"] for u in users} == {"guest"} | {f"yilin-{s}" for s in SERVICES}

    # registry's own queue, declared by registry itself, holds a message hours must not read
    registry = _channel(amqp, "yilin-registry", passwords["registry"])
    registry.exchange_declare("registry.events", "topic", durable=True)
    registry_queue = "evt-registry-volunteer.registered--registry.on_probe"
    registry.queue_declare(registry_queue, durable=True)
    registry.queue_bind(registry_queue, "registry.events", "volunteer.registered")
    registry.basic_publish("registry.events", "volunteer.registered", b'{"registry": 1}')

    # hours on its own: declare, bind, publish, consume
    hours = _channel(amqp, "yilin-hours", passwords["hours"])
    hours.exchange_declare("hours.events", "topic", durable=True)
    own_queue = "evt-hours-hours.recorded--hours.on_probe"
    hours.queue_declare(own_queue, durable=True)
    hours.queue_bind(own_queue, "hours.events", "hours.recorded")
    hours.basic_publish("hours.events", "hours.recorded", b'{"hours": 1}')
    deadline = time.monotonic() + 10
    while (got := hours.basic_get(own_queue, auto_ack=True))[0] is None:
        assert time.monotonic() < deadline, "hours never got its own message"
        time.sleep(0.1)
    assert got[2] == b'{"hours": 1}'

    # and refused on registry's
    password = passwords["hours"]
    checks = {
        "consume registry's queue": lambda c: c.basic_get(registry_queue),
        "publish as registry": lambda c: c.basic_publish("registry.events", "volunteer.registered", b"{}"),
        "declare a queue of registry's name": lambda c: c.queue_declare("rpc-registry", durable=True),
        "delete registry's queue": lambda c: c.queue_delete(registry_queue),
    }
    for name, action in checks.items():
        assert _refused(lambda action=action: action(_channel(amqp, "yilin-hours", password))), name
    # registry's message is still there, untouched
    assert registry.queue_declare(registry_queue, passive=True).method.message_count == 1
    # a wrong password does not connect at all
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        _channel(amqp, "yilin-hours", "not-the-password")
