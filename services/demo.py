"""The demo district, loaded through the public API so it publishes events exactly as
real use does. Each service contributes ``services/<name>/demo.py:load(api, context)``."""

from __future__ import annotations

import importlib
from typing import Any, Callable

import requests

from services import SERVICES


class DemoApi:
    """A small HTTP client for ``/api/v1`` that raises on any non-2xx answer."""

    def __init__(
        self,
        base_url: str,
        identity_headers: Callable[..., dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity_headers = identity_headers
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})

    def as_identity(self, role: str, subject: str | None = None, organisation_id: str | None = None) -> "DemoApi":
        """The same client acting as someone else (e.g. a second fund-committee member)."""
        if self.identity_headers is None:
            return self
        return DemoApi(
            self.base_url,
            self.identity_headers,
            self.identity_headers(role=role, subject=subject, organisation_id=organisation_id),
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}/api/v1{path}", timeout=30, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.request("PATCH", path, json=json)


def load_demo(gateway_url: str, api: DemoApi | None = None) -> dict[str, Any]:
    """Load the demo district unless the registry already holds places."""
    api = api or DemoApi(gateway_url, *_default_identity())
    if api.get("/places", params={"limit": 1})["items"]:
        return {"loaded": False}
    context: dict[str, Any] = {}
    for name in SERVICES:
        try:
            module = importlib.import_module(f"services.{name}.demo")
        except ModuleNotFoundError:
            continue
        context.update(module.load(api, context) or {})
    hours = context.get("hours") or {}
    certificate = (
        {"certificate_id": hours["certificate_id"], "certificate_number": hours["certificate_number"]}
        if "certificate_id" in hours
        else {}
    )
    return {"loaded": True, **{k: v for k, v in context.items() if k in ("communities", "volunteers")}, **certificate}


def _default_identity() -> tuple[Callable[..., dict[str, str]] | None, dict[str, str]]:
    """Bearer tokens for the demo's actors when token support is installed."""
    try:
        from services.roles import PERSON_ROLES
        from yilin.config import load_config
        from yilin.tokens import issue_token
    except ImportError:
        return None, {}
    config = load_config()

    def headers(role: str, subject: str | None = None, organisation_id: str | None = None) -> dict[str, str]:
        token = issue_token(
            config, role, subject=subject or f"demo-{role}", organisation_id=organisation_id, roles=PERSON_ROLES
        )
        return {"Authorization": f"Bearer {token}"}

    return headers, headers(role="operator")
