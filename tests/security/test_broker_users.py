"""Each service on the broker as its own user: the permissions of
``yilin.topology.broker_permissions`` (what compose, Kubernetes and docs/subscribing.md
set) let a real service process run, and the broker refuses a service user that touches
another service's queues or publishes as another service."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from typing import Any
from urllib.parse import urlsplit

import pika
import pika.exceptions
import pytest
from kombu import Connection

from tests.conftest import RABBIT_HOST
from tests.harness import ServiceProcess, migrate_service, service_class, wait_until
from yilin import deadletters
from yilin.topology import FAILURE_LIMIT, FAILURES_HEADER, broker_permissions

PASSWORD = "service-user-password"


def rabbitmqctl(*args: str) -> None:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([exe, *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def service_users(amqp_uri: str) -> Any:
    """``{service: (user, amqp uri)}`` for registry, hours and activities, created in the test's vhost."""
    vhost = urlsplit(amqp_uri).path.lstrip("/")
    users: dict[str, tuple[str, str]] = {}
    for service in ("registry", "hours", "activities"):
        user = f"{service}-{uuid.uuid4().hex[:6]}"
        rabbitmqctl("add_user", user, PASSWORD)
        p = broker_permissions(service_class(service))
        rabbitmqctl("set_permissions", "-p", vhost, user, p["configure"], p["write"], p["read"])
        users[service] = (user, f"pyamqp://{user}:{PASSWORD}@{RABBIT_HOST}/{vhost}")
    yield users
    for user, _ in users.values():
        rabbitmqctl("delete_user", user)


def channel_as(user: str, vhost: str) -> Any:
    host, _, port = RABBIT_HOST.partition(":")
    connection = pika.BlockingConnection(
        pika.ConnectionParameters(
            host=host, port=int(port or 5672), virtual_host=vhost, credentials=pika.PlainCredentials(user, PASSWORD)
        )
    )
    return connection.channel()


def refused(action: Any) -> bool:
    try:
        action()
    except pika.exceptions.ChannelClosedByBroker as closed:
        return closed.reply_code == 403
    return False


def test_a_service_user_runs_its_service_and_nothing_else(
    amqp_uri: str, pg_url: str, make_config: Any, service_users: Any
) -> None:
    config = make_config(pg_url)
    for service in ("registry", "hours", "activities"):
        migrate_service(service, config)  # the topology is declared by `yilin migrate`, as the admin user
    vhost = urlsplit(amqp_uri).path.lstrip("/")
    hours_user, hours_uri = service_users["hours"]
    registry_user, registry_uri = service_users["registry"]
    activities_user, activities_uri = service_users["activities"]
    processes = [
        ServiceProcess("registry", registry_uri, pg_url),
        ServiceProcess("hours", hours_uri, pg_url),
        ServiceProcess("activities", activities_uri, pg_url),  # consumes hours.events as itself
    ]
    for process in processes:
        process.wait_ready(60)  # each runs with only its own permissions

    hours_queue = "evt-registry-volunteer.registered--hours.on_volunteer_registered"
    checks = {
        "consume another service's RPC queue": lambda c: c.basic_get("rpc-registry"),
        "purge another service's DLQ": lambda c: c.queue_purge("registry.dlq"),
        "delete another service's queue": lambda c: c.queue_delete("rpc-registry"),
        "publish as another service": lambda c: (
            c.confirm_delivery(),
            c.basic_publish("registry.events", "volunteer.registered", b"{}"),
        ),
        "declare a queue of another's name": lambda c: c.queue_declare("rpc-fund", durable=True),
    }
    for name, action in checks.items():
        assert refused(lambda action=action: action(channel_as(hours_user, vhost))), name
    assert refused(lambda: channel_as(registry_user, vhost).basic_get(hours_queue)), "registry reading hours' queue"
    # not even to its own queues through the default exchange: retries go through hours.retry
    assert refused(
        lambda: (c := channel_as(hours_user, vhost), c.confirm_delivery(), c.basic_publish("", hours_queue, b"{}"))
    ), "publish through amq.default"
    own = channel_as(hours_user, vhost)
    assert own.queue_declare("hours.dlq", passive=True).method.queue == "hours.dlq"  # its own: allowed
    attendance_queue = "evt-activities-activity.attendance_recorded--hours.on_attendance_recorded"
    assert refused(lambda: channel_as(activities_user, vhost).basic_get(attendance_queue)), "activities reading hours'"
    assert refused(
        lambda: (
            (c := channel_as(hours_user, vhost)).confirm_delivery(),
            c.basic_publish("activities.events", "activity.attendance_recorded", b"{}"),
        )
    ), "hours publishing as activities"
    mine = channel_as(activities_user, vhost)
    assert mine.queue_declare("activities.dlq", passive=True).method.queue == "activities.dlq"

    # A message its handler cannot take is retried and parked with hours' own permissions.
    poison = {"id": str(uuid.uuid4()), "type": "volunteer.registered", "version": 1}
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(
            poison, exchange="registry.events", routing_key="volunteer.registered", message_id=poison["id"]
        )
    wait_until(lambda: deadletters.peek(amqp_uri, "hours"), timeout=60, what="the poison parked")
    parked = deadletters.inspect(amqp_uri, "hours", poison["id"])
    assert parked is not None and parked["reason"] == "handler_failed", parked
    assert parked["headers"][FAILURES_HEADER] == FAILURE_LIMIT
    for process in processes:
        assert process.terminate() == 0
