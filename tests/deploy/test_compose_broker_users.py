"""Compose connects each service as its own broker user, as Kubernetes does: every
service's AMQP URI names ``yilin-<service>``, and the definitions compose applies
(deploy/compose/rabbitmq/broker-users.json) grant exactly the users and permissions of the
Kubernetes ``User``/``Permission`` resources, both written from the code by
tools/broker_users.py. ``yilin broker-users`` turns those definitions into management-API
calls with the passwords of the environment."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_checks import COMPOSE_DIR, K8S_DIR, REPO, compose_config, contract_metrics_ports, describe

from yilinctl.broker_users import apply, password_variable, requests_for

DEFINITIONS = COMPOSE_DIR / "rabbitmq" / "broker-users.json"
K8S_USERS = K8S_DIR / "base" / "broker-users.yaml"


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    proc = compose_config(COMPOSE_DIR / "compose.yaml", fmt="json")
    assert proc.returncode == 0, describe(proc)
    return json.loads(proc.stdout)


def kubernetes_grants() -> tuple[set[str], set[tuple[str, str, str, str, str]]]:
    docs = [d for d in yaml.safe_load_all(K8S_USERS.read_text()) if d]
    users = {d["metadata"]["name"] for d in docs if d["kind"] == "User"}
    grants = {
        (
            d["spec"]["userReference"]["name"],
            d["spec"]["vhost"],
            d["spec"]["permissions"]["configure"],
            d["spec"]["permissions"]["write"],
            d["spec"]["permissions"]["read"],
        )
        for d in docs
        if d["kind"] == "Permission"
    }
    return users, grants


def compose_grants() -> tuple[set[str], set[tuple[str, str, str, str, str]]]:
    definitions = json.loads(DEFINITIONS.read_text())
    users = {u["name"] for u in definitions["users"]}
    grants = {(p["user"], p["vhost"], p["configure"], p["write"], p["read"]) for p in definitions["permissions"]}
    return users, grants


def test_both_deployments_grant_the_same_from_the_code() -> None:
    done = subprocess.run(
        [sys.executable, "tools/broker_users.py", "--check"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr  # both files are what the code says
    k8s_users, k8s_grants = kubernetes_grants()
    users, grants = compose_grants()
    assert users == k8s_users == {f"yilin-{name}" for name in contract_metrics_ports()}
    assert grants == k8s_grants
    assert len(grants) == len(users)  # one grant per user: nobody gets a second set of rights


def test_each_service_connects_as_its_own_user(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    step = services["broker-users"]
    users, _ = compose_grants()
    seen = set()
    for name in contract_metrics_ports():
        uri = urlsplit(services[name]["environment"]["YILIN_AMQP_URI"])
        assert uri.username == f"yilin-{name}", (name, uri.username)
        # its password is the one the broker-users step sets for that user
        assert uri.password == step["environment"][password_variable(uri.username)], name
        assert services[name]["depends_on"]["broker-users"]["condition"] == "service_completed_successfully"
        seen.add(uri.username)
    assert seen == users
    passwords = [step["environment"][password_variable(u)] for u in users]
    assert len(set(passwords)) == len(passwords)  # .env.example gives each its own
    # migrate declares every service's topology, as the administrator
    admin = urlsplit(services["migrate"]["environment"]["YILIN_AMQP_URI"]).username
    assert admin == services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_USER"] and admin not in users


def test_the_broker_users_step_applies_the_definitions(resolved: dict[str, Any]) -> None:
    step = resolved["services"]["broker-users"]
    assert step["command"][:2] == ["yilin", "broker-users"]
    mounts = {m["target"]: m["source"] for m in step["volumes"] if m["type"] == "bind"}
    assert mounts[step["command"][2]] == str(DEFINITIONS)
    assert step["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert step["environment"]["YILIN_BROKER_MANAGEMENT_URL"] == "http://rabbitmq:15672"
    assert (
        step["environment"]["YILIN_BROKER_ADMIN_USER"]
        == resolved["services"]["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_USER"]
    )


class _Recorder(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, str, dict[str, Any]]] = []

    def do_PUT(self) -> None:  # http.server calls do_<METHOD>
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append((self.command, self.path, self.headers["Authorization"], body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_yilin_broker_users_puts_each_user_and_permission() -> None:
    """Against a recording HTTP server standing in for RabbitMQ's management API (the
    test broker runs without the management plugin)."""
    definitions = json.loads(DEFINITIONS.read_text())
    env = {password_variable(u["name"]): f"pw-{u['name']}" for u in definitions["users"]}
    with pytest.raises(ValueError, match="YILIN_BROKER_PASSWORD_HOURS"):
        requests_for(definitions, {k: v for k, v in env.items() if not k.endswith("_HOURS")})
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        apply(f"http://127.0.0.1:{server.server_port}", ("admin", "admin-pw"), requests_for(definitions, env))
    finally:
        server.shutdown()
    auth = "Basic " + base64.b64encode(b"admin:admin-pw").decode()
    calls = _Recorder.calls
    assert {c[0] for c in calls} == {"PUT"} and {c[2] for c in calls} == {auth}
    users = {c[1]: c[3] for c in calls if c[1].startswith("/api/users/")}
    assert users == {
        f"/api/users/{u['name']}": {"password": f"pw-{u['name']}", "tags": ""} for u in definitions["users"]
    }
    granted = {
        (c[1].removeprefix("/api/permissions/%2F/"), "/", c[3]["configure"], c[3]["write"], c[3]["read"])
        for c in calls
        if c[1].startswith("/api/permissions/")
    }
    assert granted == kubernetes_grants()[1]
    # users exist before their permissions are granted
    assert max(i for i, c in enumerate(calls) if "/users/" in c[1]) < min(
        i for i, c in enumerate(calls) if "/permissions/" in c[1]
    )
