"""One backend's fault stays on its own routes (services.gateway.backends), with real
processes: a stopped tickets service gets 503 + Retry-After while the registry's routes
answer 200 and the gateway stays ready; a hung one (SIGSTOP) under concurrent load holds
only its share of the gateway's workers, so reads of the registry keep answering."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import eventlet
import requests

from tests.conftest import TEST_JWT_SECRET
from tests.gateway.test_registry_api import seed_places
from tests.harness import ServiceProcess, migrate_service
from tests.polling import wait_until

CATEGORY = {"code": "pet_care", "name": "宠物照看", "skill": "pets", "assign_minutes": 60, "resolve_minutes": 600}
ENV = {"YILIN_JWT_SECRET": TEST_JWT_SECRET, "YILIN_LOG_LEVEL": "WARNING"}


def _start(amqp_uri: str, pg_url: str, **env: str) -> dict[str, ServiceProcess]:
    config = {"AMQP_URI": amqp_uri, "DATABASE_URL": pg_url}
    processes = {}
    for name in ("registry", "tickets", "gateway"):
        migrate_service(name, config)
        processes[name] = ServiceProcess(name, amqp_uri, pg_url, **ENV, **env)
    for process in processes.values():
        process.wait_ready(60)
    return processes


def test_a_stopped_backend_gets_503_and_the_others_keep_answering(
    amqp_uri: str, pg_url: str, http: requests.Session
) -> None:
    processes = _start(amqp_uri, pg_url)
    gateway = processes["gateway"]
    url = f"http://127.0.0.1:{gateway.http_port}"
    seed_places(http, url)
    assert http.get(f"{url}/api/v1/ticket-categories").status_code == 200
    health = http.get(f"{url}/health").json()
    assert health["dependencies"]["tickets"] == health["dependencies"]["registry"] == "up"

    assert processes["tickets"].terminate() == 0
    for _ in range(3):  # every time, not only the first
        r = http.get(f"{url}/api/v1/ticket-categories", timeout=10)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0, r.text
        w = http.post(f"{url}/api/v1/ticket-categories", json=CATEGORY, timeout=10)
        assert w.status_code == 503 and int(w.headers["Retry-After"]) > 0, w.text
        places = http.get(f"{url}/api/v1/places", timeout=10)
        assert places.status_code == 200 and {p["code"] for p in places.json()["items"]} >= {"PD", "PD-01"}

    health = http.get(f"{url}/health")
    assert health.status_code == 200, health.text  # the gateway itself is fine
    body = health.json()
    assert body["status"] == "degraded"
    assert body["dependencies"]["tickets"] == "down" and body["dependencies"]["registry"] == "up"
    assert body["dependencies"]["broker"] == body["dependencies"]["database"] == "ok"
    # readiness asks only the gateway's own broker and database; liveness only the process
    ready = requests.get(f"http://127.0.0.1:{gateway.metrics_port}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["checks"] == {"process": "ok", "broker": "ok", "database": "ok"}
    assert requests.get(f"http://127.0.0.1:{gateway.metrics_port}/livez", timeout=5).status_code == 200
    # the gateway's pool is sized apart from the services' (deploy/config.yml), and the
    # per-backend limit is half of it
    pools = {
        name: requests.get(f"http://127.0.0.1:{processes[name].metrics_port}/metrics", timeout=5).text
        for name in ("gateway", "registry")
    }
    assert 'yilin_worker_pool_size{service="gateway"} 100.0' in pools["gateway"]
    assert 'yilin_worker_pool_size{service="registry"} 10.0' in pools["registry"]
    registry_ready = requests.get(f"http://127.0.0.1:{processes['registry'].metrics_port}/readyz", timeout=5)
    assert registry_ready.status_code == 200

    processes["tickets"] = ServiceProcess("tickets", amqp_uri, pg_url, **ENV).wait_ready(60)
    r = http.get(f"{url}/api/v1/ticket-categories", timeout=10)
    assert r.status_code == 200, r.text  # back as soon as it is


def _timed_reads(http: requests.Session, url: str, count: int) -> list[tuple[int, float, set[str]]]:
    def one(_: int) -> tuple[int, float, set[str]]:
        began = time.monotonic()
        r = http.get(f"{url}/api/v1/places", timeout=60)
        codes = {p["code"] for p in r.json()["items"]} if r.status_code == 200 else set()
        return r.status_code, time.monotonic() - began, codes

    return list(eventlet.GreenPool(4).imap(one, range(count)))


def test_a_hung_backend_under_load_does_not_starve_the_others(
    amqp_uri: str, pg_url: str, http: requests.Session
) -> None:
    read_timeout = 8.0
    # the load retries each 503 at once: hundreds of calls from one caller, which is not what
    # this test is about, so the rate limit is set out of its way
    processes = _start(
        amqp_uri,
        pg_url,
        YILIN_RPC_READ_TIMEOUT=str(read_timeout),
        YILIN_GATEWAY_MAX_WORKERS="10",
        YILIN_RATE_LIMIT_PER_MINUTE="1000000",
    )
    url = f"http://127.0.0.1:{processes['gateway'].http_port}"
    seed_places(http, url)
    baseline = _timed_reads(http, url, 40)
    assert all(status == 200 and codes >= {"PD", "PD-01", "PD-01-01"} for status, _, codes in baseline)

    tickets = processes["tickets"].process
    os.kill(tickets.pid, signal.SIGSTOP)
    hung_answers: list[requests.Response] = []
    running = True

    def load() -> None:
        while running:
            hung_answers.append(http.get(f"{url}/api/v1/ticket-categories", timeout=60))

    try:
        loaders = [eventlet.spawn(load) for _ in range(12)]  # more than the gateway has workers
        eventlet.sleep(0.3)  # the load holds what it can before the reads begin
        during = _timed_reads(http, url, 40)
        running = False
        for loader in loaders:
            loader.wait()
    finally:
        running = False
        os.kill(tickets.pid, signal.SIGCONT)

    # every read of the registry completed with the right answer...
    statuses = sorted({status for status, _, _ in during})
    assert all(status == 200 and codes >= {"PD", "PD-01", "PD-01-01"} for status, _, codes in during), statuses
    # ...and none was left waiting behind the hung backend's calls (a generous bound, relative
    # to the same reads before; without the per-backend limit the first of them queue for a
    # worker until the hung calls time out)
    before = max(t for _, t, _ in baseline)
    after = max(t for _, t, _ in during)
    assert after < 5 * before + 2.0 < read_timeout, (before, after)
    # the hung backend's callers got 503 + Retry-After, never a hang or a 500
    assert hung_answers and {r.status_code for r in hung_answers} == {503}
    assert all(int(r.headers["Retry-After"]) > 0 for r in hung_answers)


def test_a_write_that_timed_out_applies_once_and_its_retry_gets_the_first_answer(
    amqp_uri: str, pg_url: str, http: requests.Session
) -> None:
    """The write key travels to the service: a write whose service hangs gets 503 +
    Retry-After after the write timeout, is applied once the service resumes, and the
    client's retry under the same Idempotency-Key returns that first answer."""
    processes = _start(amqp_uri, pg_url, YILIN_RPC_WRITE_TIMEOUT="2")
    url = f"http://127.0.0.1:{processes['gateway'].http_port}"
    tickets = processes["tickets"].process
    headers = {"Idempotency-Key": "category-pet-care-1"}
    os.kill(tickets.pid, signal.SIGSTOP)
    try:
        r = http.post(f"{url}/api/v1/ticket-categories", json=CATEGORY, headers=headers, timeout=30)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0, r.text
    finally:
        os.kill(tickets.pid, signal.SIGCONT)

    def applied() -> list[Any]:
        r = http.get(f"{url}/api/v1/ticket-categories", params={"limit": 50}, timeout=10)
        items = r.json()["items"] if r.status_code == 200 else []  # 503 while the backend counts as hung
        return [c for c in items if c["code"] == CATEGORY["code"]]

    wait_until(lambda: len(applied()) == 1, 30, what="the timed-out write applied")
    retry = http.post(f"{url}/api/v1/ticket-categories", json=CATEGORY, headers=headers, timeout=30)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == applied()[0]["id"]  # the first answer, not a second category
    assert len(applied()) == 1
