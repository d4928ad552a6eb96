"""``Idempotency-Key`` on POST through the gateway, as the IETF draft specifies it, on
SQLite and PostgreSQL: concurrent requests under one key make one change; a retry after
the first answer gets that answer again; a key whose first request is still being
processed answers 409; the key reused for another request answers 422."""

from __future__ import annotations

import json
import uuid
from typing import Any

import eventlet
import psycopg2
import pytest
import requests

from tests.polling import wait_until
from tests.problems import problem, problem_fields
from yilin.errors import MalformedInput
from yilin.identity import Identity

BODY = {"code": "PD", "name": "郫都区", "level": "district", "parent_id": None}


def places(url: str, code: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    items = requests.get(f"{url}/api/v1/places", headers=auth, timeout=10).json()["items"]
    return [p for p in items if p["code"] == code]


def test_100_concurrent_requests_make_one_change(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    auth = {"Authorization": http.headers["Authorization"]}
    key = str(uuid.uuid4())

    def post(_: int) -> requests.Response:
        return requests.post(f"{s.url}/api/v1/places", json=BODY, headers={**auth, "Idempotency-Key": key}, timeout=60)

    responses = list(eventlet.GreenPool(100).imap(post, range(100)))
    created = [r for r in responses if r.status_code == 201]
    busy = [r for r in responses if r.status_code == 409]
    assert len(created) + len(busy) == 100, {r.status_code: r.text for r in responses}
    assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in created) == 1  # one reached the service
    assert len({r.text for r in created}) == 1
    for r in busy:  # arrived while the first was in flight
        problem(r, 409, "idempotency-key-in-use")
        assert "Idempotency-Key" in problem_fields(r)
    # once the first has answered, a retry gets its answer again
    again = post(0)
    assert again.status_code == 201 and again.text == created[0].text and again.headers["Idempotent-Replayed"] == "true"
    assert [p["id"] for p in places(s.url, "PD", auth)] == [created[0].json()["id"]]

    # The same key with a different body is refused (422) and changes nothing.
    other = requests.post(
        f"{s.url}/api/v1/places", json={**BODY, "code": "PX"}, headers={**auth, "Idempotency-Key": key}, timeout=10
    )
    problem(other, 422, "idempotency-key-reused")
    assert "Idempotency-Key" in problem_fields(other)
    assert places(s.url, "PX", auth) == []


def test_a_key_in_flight_answers_409_then_the_first_answer(stack: Any, http: Any, pg_url: str) -> None:
    """The first request is held inside the registry's transaction by a table lock the
    test takes, so a second one under the same key meets it in flight."""
    s = stack("registry", "gateway", database=pg_url)
    auth = {"Authorization": http.headers["Authorization"], "Idempotency-Key": str(uuid.uuid4())}
    url = f"{s.url}/api/v1/places"
    blocker = psycopg2.connect(pg_url)
    try:
        cursor = blocker.cursor()
        cursor.execute("LOCK TABLE registry.places IN SHARE ROW EXCLUSIVE MODE")  # holds INSERTs until commit
        first = eventlet.spawn(requests.post, url, json=BODY, headers=auth, timeout=60)
        watcher = psycopg2.connect(pg_url)
        watcher.autocommit = True

        def insert_waits() -> bool:
            with watcher.cursor() as c:
                c.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'registry.places'::regclass")
                return bool(c.fetchone()[0])

        wait_until(insert_waits, timeout=30, what="the first request waiting on the lock")
        watcher.close()
        second = requests.post(url, json=BODY, headers=auth, timeout=10)
        problem(second, 409, "idempotency-key-in-use")
        assert "Idempotency-Key" in problem_fields(second)
        other = requests.post(url, json={**BODY, "code": "PX"}, headers=auth, timeout=10)
        problem(other, 422, "idempotency-key-reused")  # the key's request is known even while in flight
    finally:
        blocker.rollback()
        blocker.close()
    answer = first.wait()
    assert answer.status_code == 201, answer.text
    replay = requests.post(url, json=BODY, headers=auth, timeout=10)
    assert (replay.status_code, replay.text, replay.headers["Idempotent-Replayed"]) == (201, answer.text, "true")
    assert [p["id"] for p in places(s.url, "PD", auth)] == [answer.json()["id"]]
    assert places(s.url, "PX", auth) == []


def test_refusals_are_replayed_and_keys_are_checked(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    auth = {"Authorization": http.headers["Authorization"]}
    assert requests.post(f"{s.url}/api/v1/places", json=BODY, headers=auth, timeout=10).status_code == 201
    key = str(uuid.uuid4())
    first = requests.post(f"{s.url}/api/v1/places", json=BODY, headers={**auth, "Idempotency-Key": key}, timeout=10)
    problem(first, 409, "conflict")  # the code exists: the service's own refusal
    again = requests.post(f"{s.url}/api/v1/places", json=BODY, headers={**auth, "Idempotency-Key": key}, timeout=10)
    assert (again.status_code, again.text) == (first.status_code, first.text)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"].startswith("application/problem+json")

    bad = requests.post(
        f"{s.url}/api/v1/places",
        json={**BODY, "code": "PY"},
        headers={**auth, "Idempotency-Key": "k" * 201},
        timeout=10,
    )
    problem(bad, 422, "invalid-input")
    assert "Idempotency-Key" in problem_fields(bad)
    assert places(s.url, "PY", auth) == []


def test_a_malformed_body_leaves_the_key_free_for_the_corrected_request(stack: Any, http: Any) -> None:
    """The service validates a forwarded body (once, with the route's schema); its refusal
    names the field, is not stored under the key, and changes nothing."""
    s = stack("registry", "gateway")
    auth = {"Authorization": http.headers["Authorization"]}
    key = {**auth, "Idempotency-Key": str(uuid.uuid4())}
    for malformed, field in [({**BODY, "level": "planet"}, "level"), ({**BODY, "colour": "red"}, "colour")]:
        refused = requests.post(f"{s.url}/api/v1/places", json=malformed, headers=key, timeout=10)
        problem(refused, 422, "invalid-input")
        assert field in problem_fields(refused) and "Idempotent-Replayed" not in refused.headers
    for not_an_object in ("null", json.dumps([BODY]), '"PD"'):
        json_key = {**key, "Content-Type": "application/json"}
        refused = requests.post(f"{s.url}/api/v1/places", data=not_an_object, headers=json_key, timeout=10)
        problem(refused, 422, "invalid-input")
        assert list(problem_fields(refused)) == ["body"], refused.text
    with s.rpc("registry", Identity(subject="op-1", role="operator")) as registry:  # any RPC caller too
        with pytest.raises(MalformedInput) as malformed:
            registry.create_place({**BODY, "level": "planet"})
    assert "level" in malformed.value.fields
    assert places(s.url, "PD", auth) == []
    created = requests.post(f"{s.url}/api/v1/places", json=BODY, headers=key, timeout=10)
    assert created.status_code == 201 and "Idempotent-Replayed" not in created.headers, created.text
    assert requests.post(f"{s.url}/api/v1/places", json=BODY, headers=key, timeout=10).json() == created.json()
