"""``Idempotency-Key`` on POST through the gateway, on SQLite and PostgreSQL: concurrent
replays make one change and share one answer; the key cannot be reused for another body."""

from __future__ import annotations

import uuid
from typing import Any

import eventlet
import requests


def places(url: str, code: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    items = requests.get(f"{url}/api/v1/places", headers=auth, timeout=10).json()["items"]
    return [p for p in items if p["code"] == code]


def test_100_concurrent_replays_make_one_change(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    auth = {"Authorization": http.headers["Authorization"]}
    key = str(uuid.uuid4())
    body = {"code": "PD", "name": "郫都区", "level": "district", "parent_id": None}

    def post(_: int) -> requests.Response:
        return requests.post(f"{s.url}/api/v1/places", json=body, headers={**auth, "Idempotency-Key": key}, timeout=60)

    responses = list(eventlet.GreenPool(100).imap(post, range(100)))
    assert {r.status_code for r in responses} == {201}, {r.status_code: r.text for r in responses}
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 99
    assert [p["id"] for p in places(s.url, "PD", auth)] == [responses[0].json()["id"]]

    # The same key with a different body is refused and changes nothing.
    other = requests.post(
        f"{s.url}/api/v1/places", json={**body, "code": "PX"}, headers={**auth, "Idempotency-Key": key}, timeout=10
    )
    assert other.status_code == 409, other.text
    assert "Idempotency-Key" in other.json()["fields"]
    assert places(s.url, "PX", auth) == []


def test_refusals_are_replayed_and_keys_are_checked(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    auth = {"Authorization": http.headers["Authorization"]}
    body = {"code": "PD", "name": "郫都区", "level": "district", "parent_id": None}
    assert requests.post(f"{s.url}/api/v1/places", json=body, headers=auth, timeout=10).status_code == 201
    key = str(uuid.uuid4())
    first = requests.post(f"{s.url}/api/v1/places", json=body, headers={**auth, "Idempotency-Key": key}, timeout=10)
    assert first.status_code == 409  # the code exists: the service's own refusal
    again = requests.post(f"{s.url}/api/v1/places", json=body, headers={**auth, "Idempotency-Key": key}, timeout=10)
    assert (again.status_code, again.text) == (first.status_code, first.text)
    assert again.headers["Idempotent-Replayed"] == "true"

    bad = requests.post(
        f"{s.url}/api/v1/places",
        json={**body, "code": "PY"},
        headers={**auth, "Idempotency-Key": "k" * 201},
        timeout=10,
    )
    assert bad.status_code == 422 and "Idempotency-Key" in bad.json()["fields"]
    assert places(s.url, "PY", auth) == []
