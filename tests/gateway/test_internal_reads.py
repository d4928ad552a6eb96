"""The gateway's reads over the services' internal HTTP servers (yilin.httpreads) answer
exactly as over RPC: same status, body and ETag, the same service rule behind both; and
the internal server refuses a call without a verifiable identity before anything runs."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import eventlet
import requests

from services.gateway import routes  # noqa: F401 - importing it registers the routes
from services.gateway.routing import ROUTER
from services.roles import PERSON_ROLES
from tests.conftest import TEST_JWT_SECRET
from tests.gateway.test_registry_api import id_number, seed_places
from tests.harness import free_port
from yilin.httpreads import IDENTITY_HEADER, HttpReadProxy, HttpReads, ReadEndpoint
from yilin.identity import IDENTITY_KEY, Identity, new_private_key, sign_assertion
from yilin.readpool import Pool
from yilin.tokens import issue_token
from yilinctl.cli import service_class

MISSING = "00000000-0000-0000-0000-000000000000"


def internal(stack: Any, *services: str) -> tuple[Any, dict[str, str]]:
    """``stack(*services, "gateway")`` with each service's reads on a port of its own."""
    urls = {name: f"127.0.0.1:{free_port()}" for name in services}
    s = stack(
        *services,
        "gateway",
        INTERNAL_HTTP_ADDRESS=urls,
        INTERNAL_READ_URLS={name: f"http://{address}" for name, address in urls.items()},
    )
    return s, {name: f"http://{address}" for name, address in urls.items()}


def over_rpc(s: Any, enabled: bool) -> None:
    """Switch the running gateway's reads to RPC (as with no INTERNAL_READ_URLS) or back."""
    [provider] = [d for d in s.containers["gateway"].dependencies if isinstance(d, HttpReads)]
    if not hasattr(provider, "configured"):
        provider.configured = provider.pools
    provider.pools = {} if enabled else provider.configured


def answers(session: Any, url: str, paths: list[str]) -> list[tuple[int, Any, str | None]]:
    out = []
    for path in paths:
        r = session.get(url + path)
        body = r.json()
        if isinstance(body, dict):
            body.pop("instance", None)
        out.append((r.status_code, body, r.headers.get("ETag")))
    return out


def as_role(role: str, subject: str) -> requests.Session:
    session = requests.Session()
    token = issue_token({"JWT_SECRET": TEST_JWT_SECRET}, role, subject=subject, roles=PERSON_ROLES)
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def test_reads_over_http_answer_as_over_rpc(stack: Any, http: Any) -> None:
    s, _ = internal(stack, "registry")
    places = seed_places(http, s.url)
    community = places["PD-01-01"]
    volunteers = [
        http.post(
            f"{s.url}/api/v1/volunteers",
            json={"name": f"志愿者{i}", "id_number": id_number(10 + i), "community_id": community},
        ).json()
        for i in range(3)
    ]
    me, other = volunteers[0]["id"], volunteers[1]["id"]
    paths = [
        f"/api/v1/volunteers/{me}",  # 200
        f"/api/v1/volunteers/{MISSING}",  # 404 from the service
        f"/api/v1/volunteers?limit=2&community_id={community}",  # a page with a cursor
        f"/api/v1/places/{community}",
        "/api/v1/places?level=community",
    ]
    volunteer = as_role("volunteer", me)
    own = [f"/api/v1/volunteers/{me}", f"/api/v1/volunteers/{other}"]  # 200, then the service's 403

    over_http = answers(http, s.url, paths), answers(volunteer, s.url, own)
    over_rpc(s, True)
    assert answers(http, s.url, paths) == over_http[0]
    assert answers(volunteer, s.url, own) == over_http[1]
    over_rpc(s, False)

    statuses = [a[0] for a in over_http[0]] + [a[0] for a in over_http[1]]
    assert statuses == [200, 404, 200, 200, 200, 200, 403]
    assert over_http[0][0][1]["name"] == "志愿者0" and over_http[0][0][2]  # the body and its ETag
    assert len(over_http[0][2][1]["items"]) == 2 and over_http[0][2][1]["next_cursor"]
    assert over_http[1][1][1]["type"].endswith("forbidden") and "志愿者1" not in json.dumps(over_http[1][1][1])


def test_the_service_checks_the_identity_on_the_internal_server(stack: Any, http: Any) -> None:
    """As on RPC: no assertion, a forged, an expired or a malformed one is 401 and no
    worker runs; a valid one is answered for that caller (the service's rule applies)."""
    s, urls = internal(stack, "registry")
    places = seed_places(http, s.url)
    volunteer = http.post(
        f"{s.url}/api/v1/volunteers",
        json={"name": "秘密的名字", "id_number": id_number(1), "community_id": places["PD-01-01"]},
    ).json()
    read = urls["registry"] + "/reads/get_volunteer"
    body = {"args": [volunteer["id"]], "kwargs": {}}
    operator = Identity(subject="someone", role="operator")
    valid = sign_assertion(s.config, operator, "gateway")
    forged = sign_assertion({**s.config, "IDENTITY_KEYS": {"gateway": new_private_key()[0]}}, operator, "gateway")
    expired = sign_assertion(s.config, operator, "gateway", ttl=-1)

    for headers in ({}, {IDENTITY_HEADER: forged}, {IDENTITY_HEADER: expired}, {IDENTITY_HEADER: "a.b"}):
        r = requests.post(read, json=body, headers=headers, timeout=5)
        assert r.status_code == 401, r.text
        assert "秘密" not in r.text and volunteer["id"] not in r.text
        assert r.json()["error"]["exc_type"] == "Unauthenticated"

    r = requests.post(read, json=body, headers={IDENTITY_HEADER: valid}, timeout=5)
    assert r.status_code == 200 and r.json()["result"]["name"] == "秘密的名字"
    stranger = sign_assertion(s.config, Identity(subject=str(MISSING), role="volunteer"), "gateway")
    r = requests.post(read, json=body, headers={IDENTITY_HEADER: stranger}, timeout=5)
    assert r.status_code == 403 and "秘密" not in r.text
    # writes are not on the internal server at all
    r = requests.post(urls["registry"] + "/reads/register_volunteer", json=body, headers={IDENTITY_HEADER: valid})
    assert r.status_code == 404
    r = requests.post(read, data=b"{not json", headers={IDENTITY_HEADER: valid}, timeout=5)
    assert r.status_code == 400


def test_a_read_server_that_is_gone_is_503_with_retry_after(stack: Any, http: Any) -> None:
    s = stack(
        "registry",
        "gateway",
        INTERNAL_READ_URLS={"registry": f"http://127.0.0.1:{free_port()}"},  # nothing listens there
    )
    began = time.monotonic()
    r = http.get(f"{s.url}/api/v1/volunteers/{MISSING}")
    assert r.status_code == 503 and r.headers["Retry-After"], r.text
    assert time.monotonic() - began < 5
    assert http.post(f"{s.url}/api/v1/places", json={"code": "X", "name": "X", "level": "district"}).status_code == 201


def test_every_forwarded_read_is_a_read_on_its_service() -> None:
    """Each GET that forward() registers goes over HTTP when configured, so the RPC it
    names must be declared with read_rpc (else the internal server has no such read);
    no write is."""
    forwarded = [r for r in ROUTER.routes if getattr(r.handler, "forwards_to", None)]
    assert len([r for r in forwarded if r.method == "GET"]) > 30
    for route in forwarded:
        service, method = route.handler.forwards_to  # type: ignore[attr-defined]  # set by forwarding()
        entrypoints = getattr(getattr(service_class(service), method), "nameko_entrypoints", set())
        on_http = any(isinstance(e, ReadEndpoint) for e in entrypoints)
        assert on_http == (route.method == "GET"), (route.method, route.path, method)


def test_a_kept_alive_connection_the_server_closed_is_replaced_once() -> None:
    """The server answers each connection once, keep-alive by HTTP/1.1's default, then
    closes it: the next read meets a dead pooled connection and is sent again on a new one."""
    listener = eventlet.listen(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            connection, _ = listener.accept()
            request = connection.recv(65536)
            seen.append(request)
            body = json.dumps({"result": len(seen)}).encode()
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            connection.close()

    server = eventlet.spawn(serve)
    try:
        pool = Pool(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=5)
        proxy = HttpReadProxy(pool, "registry", SimpleNamespace(data={IDENTITY_KEY: "assertion"}))
        assert proxy.get_volunteer("a") == 1
        assert len(pool.idle) == 1  # kept for the next read
        assert proxy.get_volunteer("b") == 2  # the pooled one was dead: sent again, answered once
        assert len(seen) == 2 and all(b"X-Yilin-Identity: assertion" in r for r in seen)
    finally:
        server.kill()
        listener.close()
