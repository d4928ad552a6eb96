"""What every step uses: the HTTP client, the step's shape, and waiting for what other
services learn from events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import requests

from tests.harness import if_match


class Api:
    """The gateway's ``/api/v1`` over HTTP; any non-2xx raises (same shape as the demo loaders' ``api``)."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.http = session or requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, self.base + path, timeout=30, **kwargs)
        if not response.ok:
            raise AssertionError(f"{method} {path} → {response.status_code}: {response.text}")
        return response.json() if response.content else {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("GET", path, params=params)

    def post(self, path: str, json: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        return self._call("POST", path, json=json, **({"headers": headers} if headers else {}))

    def patch(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        """A conditional update, as clients make it: read the ETag, send it in If-Match."""
        return self._call("PATCH", path, json=json, headers=if_match(self.http, self.base + path))

    def delete(self, path: str) -> dict[str, Any]:
        return self._call("DELETE", path)


@dataclass(frozen=True)
class Step:
    """One service's part: ``run(api, context)`` returns what later steps may need."""

    service: str
    run: Callable[[Api, dict[str, Any]], dict[str, Any]]
    needs: tuple[str, ...] = ()  # other services that must be running for this step


WAIT_SECONDS = 20.0


def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Retry ``check`` until it returns a truthy value without raising: other services
    learn about the registry's and tickets' changes from events, a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
            problem: Any = "not yet"
        except AssertionError as exc:  # a non-2xx answer
            problem = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {problem}")
        time.sleep(0.2)
