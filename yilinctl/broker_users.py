"""Creates each service's own broker user through RabbitMQ's management API, as compose's
``broker-users`` step does (Kubernetes has the messaging-topology operator for this).

The users and their permissions come from a definitions file that
``tools/broker_users.py`` writes from ``yilin.topology.broker_permissions`` beside the
Kubernetes ``User``/``Permission`` resources, so both deployments grant the same; the
passwords come from the environment, never the file."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

PASSWORD_VARIABLE = "YILIN_BROKER_PASSWORD_{}"  # + the service's name in capitals: yilin-hours → …_HOURS


def password_variable(user: str) -> str:
    """The environment variable holding ``user``'s password (``yilin-hours`` → ``YILIN_BROKER_PASSWORD_HOURS``)."""
    return PASSWORD_VARIABLE.format(user.removeprefix("yilin-").upper().replace("-", "_"))


def requests_for(definitions: Mapping[str, Any], environ: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
    """The management API calls (path, body) that create the users with their passwords
    and grant their permissions; refuses before any call when a password is missing."""
    missing = [
        password_variable(u["name"]) for u in definitions["users"] if not environ.get(password_variable(u["name"]))
    ]
    if missing:
        raise ValueError(f"set {', '.join(missing)}: each service's broker password")
    calls: list[tuple[str, dict[str, str]]] = [
        (f"/api/users/{quote(u['name'], safe='')}", {"password": environ[password_variable(u["name"])], "tags": ""})
        for u in definitions["users"]
    ]
    calls += [
        (
            f"/api/permissions/{quote(p['vhost'], safe='')}/{quote(p['user'], safe='')}",
            {"configure": p["configure"], "write": p["write"], "read": p["read"]},
        )
        for p in definitions["permissions"]
    ]
    return calls


Send = Callable[[urllib.request.Request], Any]


def apply(
    management_url: str,
    admin: tuple[str, str],
    calls: list[tuple[str, dict[str, str]]],
    send: Send = lambda request: urllib.request.urlopen(request, timeout=10),
    wait: float = 60,
) -> None:
    """PUT each call to the management API as ``admin``; the first waits up to ``wait``
    seconds for the API to answer (the broker may have only just started)."""
    auth = "Basic " + base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()
    deadline = time.monotonic() + wait
    for path, body in calls:
        request = urllib.request.Request(
            management_url.rstrip("/") + path,
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Authorization": auth, "Content-Type": "application/json"},
        )
        while True:
            try:
                send(request)
                break
            except urllib.error.HTTPError:
                raise  # the API answered: a refusal is not worth waiting out
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
