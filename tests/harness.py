"""Test harness: in-process stacks, real service processes, and a plain AMQP tap."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import eventlet
import requests
from kombu import Connection, Exchange, Queue

from tests.polling import drain, wait_until
from yilin.events import SERIALIZER  # kombu decodes application/cloudevents+json by it

ROOT = Path(__file__).resolve().parent.parent
# Signs identity assertions in the suite: in-process stacks and service processes share it.


def free_port() -> int:
    """A bindable port below the kernel's ephemeral range, so an outgoing connection
    (of which the suite opens many) cannot take it between this check and the bind."""
    while True:
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def service_class(name: str) -> type:
    from yilinctl.cli import service_class as resolve

    return resolve(name)


def migrate_service(name: str, config: dict[str, Any]) -> None:
    """Migrate one service's database and declare its topology, as ``yilin migrate`` does."""
    from yilin import migrations, topology
    from yilin.config import database_url
    from yilinctl.cli import migrations_dir

    folder = migrations_dir(name)
    if folder is not None:
        migrations.upgrade(name, database_url(config, name, environ={}), folder)
    queues = topology.declare(config["AMQP_URI"], [service_class(name)])
    # The vhost lives for the whole session: drop what earlier tests left in this
    # service's durable queues, or a fresh database would receive their events.
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.channel()
        for queue in queues:
            channel.queue_purge(queue)


@dataclass
class Stack:
    """Services running as nameko containers inside the test process."""

    config: dict[str, Any]
    containers: dict[str, Any]

    @classmethod
    def start(cls, names: Iterable[str], config: dict[str, Any], container_factory: Any) -> "Stack":
        from yilinctl.supervisor import service_config

        containers = {}
        for name in names:
            migrate_service(name, config)
            service = service_class(name)
            container = container_factory(service, service_config(service, config))
            container.start()
            containers[name] = container
        return cls(config, containers)

    @property
    def url(self) -> str:
        return "http://" + self.config["WEB_SERVER_ADDRESS"]

    def rpc(self, service: str, identity: Any = None) -> Any:
        """A standalone RPC proxy (use as a context manager) calling as ``identity``,
        by default the named account ``service:test-harness``."""
        from nameko.standalone.rpc import ServiceRpcProxy

        from yilin.identity import identity_context, service_account

        # a person is vouched for as the gateway would; the harness's own account by itself
        signer = "gateway" if identity else "test-harness"
        return ServiceRpcProxy(
            service,
            self.config,
            context_data=identity_context(self.config, identity or service_account("test-harness"), signer),
        )


@dataclass
class EventTap:
    """A non-nameko AMQP subscriber: an exclusive queue bound with ``#`` to each
    source's exchange, recording every message it receives."""

    amqp_uri: str
    sources: Iterable[str]
    messages: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._conn = Connection(self.amqp_uri)
        self._channel = self._conn.channel()
        self._queue = Queue(f"tap-{uuid.uuid4().hex[:12]}", exclusive=True, auto_delete=True)
        self._queue = self._queue.bind(self._channel)
        self._queue.declare()
        for source in self.sources:
            exchange = Exchange(f"{source}.events", type="topic", durable=True)
            exchange.bind(self._channel).declare()
            self._queue.bind_to(exchange=exchange, routing_key="#")
        self._consumer = self._conn.Consumer(self._queue, callbacks=[self._on_message], accept=["json", SERIALIZER])
        self._consumer.consume()
        self._running = True
        self._thread = eventlet.spawn(self._drain)

    def _on_message(self, body: Any, message: Any) -> None:
        self.messages.append(
            {
                "body": body,
                "routing_key": message.delivery_info["routing_key"],
                "exchange": message.delivery_info["exchange"],
                "content_type": message.content_type,
                "raw": message.body,
            }
        )
        message.ack()

    def _drain(self) -> None:
        drain(self._conn, lambda: self._running)  # an error here is the tap being closed

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [m["body"] for m in self.messages if m["routing_key"] == event_type]

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.of_type(event_type)) >= count, timeout, what=f"{count} × {event_type}")
        return self.of_type(event_type)

    def close(self) -> None:
        self._running = False
        self._thread.wait()
        self._conn.release()


class ServiceProcess:
    """``yilin serve NAME`` as a real child process."""

    # Every process a test starts; conftest kills any still running when the test ends,
    # so a leftover consumer can never take the next test's messages off a shared queue.
    started: list["ServiceProcess"] = []

    def __init__(self, name: str, amqp_uri: str, database_url: str, **env: str) -> None:
        ServiceProcess.started.append(self)
        self.name = name
        self.metrics_port = free_port()
        self.http_port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix=f"yilin-{name}-", suffix=".log", delete=False)
        environ = dict(os.environ)
        environ.update(
            {
                "YILIN_AMQP_URI": amqp_uri,
                "YILIN_DATABASE_URL": database_url,
                "YILIN_METRICS_PORT": str(self.metrics_port),
                "YILIN_HTTP_ADDRESS": f"127.0.0.1:{self.http_port}",
                "YILIN_OUTBOX_SWEEP_INTERVAL": "0.3",
                "YILIN_OUTBOX_SWEEP_GRACE": "0.5",
                "YILIN_LOG_FORMAT": "json",
                "YILIN_ENV": "development",  # the development defaults of deploy/config.yml
            }
        )
        environ.update(env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "yilinctl.cli", "serve", name],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> "ServiceProcess":
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
            try:
                return requests.get(f"http://127.0.0.1:{self.metrics_port}/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, timeout, interval=0.2, what=f"{self.name} ready")
        return self

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; a process that does not stop in time is killed and the
        test fails."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not stop within {timeout}s of SIGTERM") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def envelope_json(message: dict[str, Any]) -> dict[str, Any]:
    return json.loads(message["raw"]) if isinstance(message["raw"], (str, bytes)) else message["body"]


def if_match(session: Any, url: str) -> dict[str, str]:
    """The ``If-Match`` header a PATCH or PUT of ``url`` needs: the ETag of a GET of it."""
    response = session.get(url, timeout=10)
    assert response.status_code == 200 and response.headers.get("ETag"), (response.status_code, response.text)
    return {"If-Match": response.headers["ETag"]}


def a_community(registry: Any) -> str:
    """A district, a street in it and a community in that, through the registry's RPC
    (``registry``: a proxy); the community's id."""
    district = registry.create_place({"code": "D", "name": "D", "level": "district"})["id"]
    street = registry.create_place({"code": "S", "name": "S", "level": "street", "parent_id": district})["id"]
    return str(registry.create_place({"code": "C", "name": "C", "level": "community", "parent_id": street})["id"])
