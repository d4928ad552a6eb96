"""Authentication at the gateway: forged tokens, missing credentials, API keys, the rate
limit and the headers that go with 401, 405 and 429."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from services import SERVICES
from services.gateway.routing import ROUTER
from services.roles import PERSON_ROLES
from tests.conftest import TEST_JWT_SECRET
from tests.problems import problem
from tests.security.attacks import attacks
from tests.security.credentials import API_KEYS, AUDITOR_KEY, SERVICE_KEY, bearer
from yilin.tokens import issue_token


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"  # authentication happens before any database


def test_forged_expired_and_foreign_tokens_get_401(stack: Any) -> None:
    s = stack("registry", "gateway", API_KEYS=API_KEYS)
    url = f"{s.url}/api/v1/places"
    valid = issue_token({"JWT_SECRET": TEST_JWT_SECRET}, "volunteer", subject="v-1", roles=PERSON_ROLES)
    assert requests.get(url, headers={"Authorization": f"Bearer {valid}"}).status_code == 200
    for name, token in attacks(TEST_JWT_SECRET, valid).items():
        r = requests.get(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), name
        assert problem(r)["type"].endswith("/unauthenticated"), name
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {valid}"},
        {"Authorization": f"Token {valid}"},
        {"Authorization": "Bearer " + "a" * 5000},
        {"X-API-Key": "wrong"},
        {"X-API-Key": ""},
        {"X-API-Key": SERVICE_KEY, "Authorization": f"Bearer {valid}"},
    ):
        r = requests.get(url, headers=headers)
        assert r.status_code == 401, (headers.keys(), r.text)
        assert "WWW-Authenticate" in r.headers
    # nothing reached the service: the 401s wrote nothing and a wrong role is 403, not 401
    r = requests.post(url, json={"code": "X", "name": "X", "level": "district"}, headers=bearer("volunteer"))
    assert r.status_code == 403 and problem(r)["type"].endswith("/forbidden")
    r = requests.get(url, headers=bearer("operator"))
    assert r.status_code == 200 and r.json()["items"] == []


def test_api_keys_authenticate_service_accounts(stack: Any) -> None:
    s = stack("registry", "gateway", API_KEYS=API_KEYS)
    r = requests.get(f"{s.url}/api/v1/teams", headers={"X-API-Key": SERVICE_KEY})
    assert r.status_code == 200, r.text
    r = requests.get(f"{s.url}/api/v1/volunteers", headers={"X-API-Key": SERVICE_KEY})
    assert r.status_code == 403  # the service account's role is not a reader of volunteers
    r = requests.get(f"{s.url}/api/v1/audit", params={"service": "registry"}, headers={"X-API-Key": AUDITOR_KEY})
    assert r.status_code == 200, r.text


def test_rate_limit_per_identity_answers_429_with_retry_after(stack: Any) -> None:
    s = stack("registry", "gateway", RATE_LIMIT_PER_MINUTE=3)
    url = f"{s.url}/api/v1/places"
    first = bearer("resident", subject="r-1")
    assert [requests.get(url, headers=first).status_code for _ in range(3)] == [200, 200, 200]
    r = requests.get(url, headers=first)
    assert r.status_code == 429 and problem(r)["type"].endswith("/too-many-requests")
    assert 1 <= int(r.headers["Retry-After"]) <= 20
    assert requests.get(url, headers=bearer("resident", subject="r-2")).status_code == 200  # per identity
    # failed authentication is limited by client address, so guessing is slowed down too
    statuses = [requests.get(url, headers={"Authorization": "Bearer guess"}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_undeclared_methods_get_405_with_allow_and_openapi_declares_security(stack: Any, http: Any) -> None:
    s = stack(*SERVICES)  # /health is 200 only when every service answers
    for method in ("PUT", "OPTIONS", "TRACE", "PATCH"):
        r = http.request(method, f"{s.url}/api/v1/volunteers/import")
        assert r.status_code == 405, (method, r.text)
        assert r.headers["Allow"] == "POST"
    r = http.put(f"{s.url}/api/v1/places")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    spec = requests.get(f"{s.url}/openapi.json").json()  # public, like /health
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    public = {(r.method.lower(), r.template) for r in ROUTER.routes if r.public}
    assert public, "the transparency report and certificate check are public"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if (method, path) in public:
                assert "security" not in operation and "401" not in operation["responses"], (method, path)
            else:
                assert operation["security"] == [{"bearer": []}], (method, path)
                assert "401" in operation["responses"], (method, path)
            assert {"403", "422", "429"} <= set(operation["responses"]), (method, path)
            too_many = operation["responses"]["429"]  # a shared problem response: Problem429
            assert "Retry-After" in spec["components"]["responses"][too_many["$ref"].rsplit("/", 1)[1]]["headers"]
    assert requests.get(f"{s.url}/health").status_code == 200
