"""Fail closed behind the gateway: a client on the broker, with its own broker user that
may publish RPC requests, written with pika alone (no project code on the wire), calls a
service's RPC with no identity, a forged one, one signed with another key and a tampered
one. Each call is refused as unauthenticated and nothing changes; the same call with an
identity signed by the platform's key succeeds, so the refusals are the identity's doing.
Each process signs with its own key: another service's key cannot speak as the gateway,
nor vouch for anyone but that service itself."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import uuid
from typing import Any
from urllib.parse import urlsplit

import pika
import pytest

from tests.conftest import RABBIT_HOST

PASSWORD = "rpc-client-password"


def rabbitmqctl(*args: str) -> None:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([exe, *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"  # the refusal happens before any database


@pytest.fixture
def rpc_client_user(amqp_uri: str) -> Any:
    """A broker user that may publish to ``nameko-rpc`` and read its own reply queue, nothing else."""
    vhost = urlsplit(amqp_uri).path.lstrip("/")
    user = f"rpc-client-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_user", user, PASSWORD)
    rabbitmqctl(
        "set_permissions",
        "-p",
        vhost,
        user,
        f"^{user}-reply$",
        f"^(nameko-rpc|{user}-reply)$",
        f"^(nameko-rpc|{user}-reply)$",
    )
    yield user, vhost
    rabbitmqctl("delete_user", user)


class RawRpc:
    """nameko's RPC wire protocol spoken directly: a request on the ``nameko-rpc`` topic
    exchange, the reply on a queue bound to it under the reply-to key."""

    def __init__(self, user: str, vhost: str) -> None:
        host, _, port = RABBIT_HOST.partition(":")
        params = pika.ConnectionParameters(
            host=host, port=int(port or 5672), virtual_host=vhost, credentials=pika.PlainCredentials(user, PASSWORD)
        )
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.reply_queue = f"{user}-reply"
        self.channel.queue_declare(self.reply_queue, exclusive=True)  # gone with the connection
        self.channel.queue_bind(self.reply_queue, "nameko-rpc", routing_key=self.reply_queue)

    def call(self, service: str, method: str, args: list[Any], headers: dict[str, str]) -> dict[str, Any]:
        correlation_id = str(uuid.uuid4())
        self.channel.basic_publish(
            "nameko-rpc",
            f"{service}.{method}",
            json.dumps({"args": args, "kwargs": {}}),
            pika.BasicProperties(
                content_type="application/json",
                reply_to=self.reply_queue,
                correlation_id=correlation_id,
                headers=headers,
                delivery_mode=2,
            ),
        )
        for _method, properties, body in self.channel.consume(self.reply_queue, inactivity_timeout=20):
            assert body is not None, f"no reply from {service}.{method}"
            self.channel.basic_ack(_method.delivery_tag)
            if properties.correlation_id == correlation_id:
                self.channel.cancel()
                return json.loads(body)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def forged_headers() -> dict[str, dict[str, str]]:
    """Identities a client without the platform's key can make."""
    operator = {"subject": "mallory", "role": "operator", "organisation_id": None, "scopes": []}
    plain = json.dumps(operator)
    payload = (
        base64.urlsafe_b64encode(json.dumps({**operator, "signer": "gateway", "exp": 4102444800}).encode())
        .rstrip(b"=")
        .decode()
    )
    return {
        "none": {},
        "empty": {"nameko.yilin.identity": ""},
        "unsigned JSON": {"nameko.yilin.identity": plain},
        "bad signature": {"nameko.yilin.identity": payload + ".AAAA"},
        "verified claim": {"nameko.yilin.verified": plain},  # only the entrypoint itself may say this
    }


def test_a_raw_amqp_client_without_a_verifiable_identity_is_refused(stack: Any, rpc_client_user: Any) -> None:
    from yilin.identity import Identity, new_private_key, sign_assertion

    s = stack("registry")
    client = RawRpc(*rpc_client_user)
    try:
        for name, headers in forged_headers().items():
            place = {"code": f"F-{name[:6]}", "name": "forged", "level": "district"}
            reply = client.call("registry", "create_place", [place], headers)
            assert reply["result"] is None and reply["error"]["exc_type"] == "Unauthenticated", (name, reply)
        # signed with a key that is not the platform's, and a valid one with its role raised
        _, stranger = new_private_key()  # any key but the gateway's
        other = sign_assertion({"IDENTITY_KEYS": {"gateway": stranger}}, Identity("mallory", "operator"), "gateway")
        valid = sign_assertion(s.config, Identity("vol-1", "volunteer"), "gateway")
        body, _, signature = valid.partition(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        raised = base64.urlsafe_b64encode(json.dumps({**claims, "role": "operator"}).encode()).rstrip(b"=").decode()
        for name, value in (("foreign key", other), ("tampered role", f"{raised}.{signature}")):
            reply = client.call(
                "registry",
                "create_place",
                [{"code": "F-X", "name": "x", "level": "district"}],
                {"nameko.yilin.identity": value},
            )
            assert reply["error"]["exc_type"] == "Unauthenticated", (name, reply)
        # reads are refused too
        reply = client.call("registry", "list_places", [{}], {})
        assert reply["error"]["exc_type"] == "Unauthenticated"
        with s.rpc("registry") as registry:
            assert registry.list_places({})["items"] == []  # nothing changed
        # the platform's signature is what makes a call go through
        operator = sign_assertion(s.config, Identity("op-1", "operator"), "gateway")
        reply = client.call(
            "registry",
            "create_place",
            [{"code": "OK", "name": "ok", "level": "district"}],
            {"nameko.yilin.identity": operator},
        )
        assert reply["error"] is None and reply["result"]["code"] == "OK"
    finally:
        client.close()
    with s.rpc("registry") as registry:
        assert [p["code"] for p in registry.list_places({})["items"]] == ["OK"]


def test_a_services_own_key_speaks_for_that_service_alone(stack: Any, rpc_client_user: Any) -> None:
    """The registry trusts the gateway and activities by their public keys. A process
    holding the activities key (say, a compromised activities service) signs an operator
    as the gateway, and as activities: both refused; its own account and the gateway's
    operator go through."""
    from yilin.identity import Identity, new_private_key, service_account, sign_assertion

    gateway, activities = new_private_key(), new_private_key()
    s = stack(
        "registry",
        IDENTITY_KEYS={"gateway": gateway[0]},
        IDENTITY_PUBLIC_KEYS={"gateway": gateway[1], "activities": activities[1]},
    )
    stolen = {"IDENTITY_KEYS": {"gateway": activities[0], "activities": activities[0]}}  # all activities holds
    operator = Identity("mallory", "operator")
    place = {"code": "F-A", "name": "forged", "level": "district"}
    client = RawRpc(*rpc_client_user)
    try:
        for name, value in (
            ("activities' key as the gateway", sign_assertion(stolen, operator, "gateway")),
            ("activities vouching for a person", sign_assertion(stolen, operator, "activities")),
            (
                "activities as an operator account",
                sign_assertion(stolen, Identity("service:activities", "operator"), "activities"),
            ),
            ("another service's account", sign_assertion(stolen, service_account("fund"), "activities")),
        ):
            reply = client.call("registry", "create_place", [place], {"nameko.yilin.identity": value})
            assert reply["result"] is None and reply["error"]["exc_type"] == "Unauthenticated", (name, reply)
        own = sign_assertion(stolen, service_account("activities"), "activities")
        reply = client.call("registry", "list_places", [{}], {"nameko.yilin.identity": own})
        assert reply["error"] is None and reply["result"]["items"] == []  # nothing was created
        as_gateway = sign_assertion(s.config, Identity("op-1", "operator"), "gateway")
        reply = client.call("registry", "create_place", [place], {"nameko.yilin.identity": as_gateway})
        assert reply["error"] is None and reply["result"]["code"] == "F-A"
    finally:
        client.close()
