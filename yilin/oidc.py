"""Tokens from an OpenID Connect provider: what a district runs in production.

The issuer's discovery document (``/.well-known/openid-configuration``) names its JWKS;
its keys are fetched and kept, fetched again when a token names a key id not among them
(the provider rotated) at most once per ``min_refresh`` seconds, and in any case every
``refresh`` seconds, so a key the provider has withdrawn stops verifying. A token must be
RS256 or ES256, from the issuer, for the audience, with ``exp``, ``iat`` and ``sub``, and
live no longer than ``max_lifetime``. The role and organisation come from configurable
claims."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import jwt
from jwt import PyJWKSet

from yilin.errors import Unauthenticated
from yilin.identity import Identity

ALGORITHMS = ("RS256", "ES256")
DEFAULT_MAX_LIFETIME = 3600
LEEWAY = 30


def fetch_json(url: str, timeout: float = 10.0) -> Any:
    """GET ``url`` and parse its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class OidcSettings:
    """``OIDC_*`` configuration: issuer, audience, lifetime limit and claim names."""

    issuer: str
    audience: str
    max_lifetime: int = DEFAULT_MAX_LIFETIME
    role_claim: str = "role"
    organisation_claim: str = "org"
    refresh: float = 300.0
    min_refresh: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "OidcSettings | None":
        """The settings when ``OIDC_ISSUER`` is set, else ``None`` (HS256 tokens only)."""
        issuer = str(config.get("OIDC_ISSUER") or "").rstrip("/")
        if not issuer:
            return None
        audience = str(config.get("OIDC_AUDIENCE") or "")
        if not audience:
            raise RuntimeError("OIDC_AUDIENCE (YILIN_OIDC_AUDIENCE) is required with OIDC_ISSUER")
        return cls(
            issuer=issuer,
            audience=audience,
            max_lifetime=int(config.get("OIDC_MAX_LIFETIME") or DEFAULT_MAX_LIFETIME),
            role_claim=str(config.get("OIDC_ROLE_CLAIM") or "role"),
            organisation_claim=str(config.get("OIDC_ORGANISATION_CLAIM") or "org"),
            refresh=float(config.get("OIDC_JWKS_REFRESH") or 300.0),
            min_refresh=float(config.get("OIDC_JWKS_MIN_REFRESH") or 10.0),
        )


class OidcVerifier:
    """Verifies the provider's tokens against its current keys (see the module)."""

    def __init__(
        self,
        settings: OidcSettings,
        roles: tuple[str, ...],
        fetch: Callable[[str], Any] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.roles = roles
        self.fetch = fetch
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._jwks_uri: str | None = None

    def _refresh(self) -> None:
        if self._jwks_uri is None:
            discovery = self.fetch(self.settings.issuer + "/.well-known/openid-configuration")
            if discovery.get("issuer", "").rstrip("/") != self.settings.issuer:
                raise RuntimeError("the OIDC discovery document names another issuer")
            self._jwks_uri = str(discovery["jwks_uri"])
        jwks = PyJWKSet.from_dict(self.fetch(self._jwks_uri))
        self._keys = {k.key_id: k for k in jwks.keys if k.key_id}
        self._fetched_at = self.clock()

    def _key(self, kid: str) -> Any:
        with self._lock:
            age = self.clock() - self._fetched_at
            if age > self.settings.refresh or (kid not in self._keys and age > self.settings.min_refresh):
                try:
                    self._refresh()
                except Exception:  # noqa: BLE001 - an unreachable provider refuses the token, never the process
                    raise Unauthenticated("the token is not valid") from None
            return self._keys.get(kid)

    def verify(self, token: str) -> Identity:
        """The identity an OIDC token carries; :class:`Unauthenticated` for anything else."""
        refused = Unauthenticated("the token is not valid")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise refused from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS or not isinstance(kid, str):
            raise refused
        key = self._key(kid)
        if key is None or key.algorithm_name not in (None, alg):
            raise refused
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=s.audience,
                issuer=s.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.PyJWTError:
            raise refused from None
        if (
            not isinstance(claims["exp"], (int, float))
            or not isinstance(claims["iat"], (int, float))
            or claims["exp"] - claims["iat"] > s.max_lifetime
        ):
            raise refused  # a long-lived token is a stolen one waiting to happen
        role, subject, org = claims.get(s.role_claim), claims.get("sub"), claims.get(s.organisation_claim)
        if role not in self.roles or not isinstance(subject, str) or not subject or len(subject) > 128:
            raise refused
        if org is not None and (not isinstance(org, str) or len(org) > 64):
            raise refused
        return Identity(subject=subject, role=role, organisation_id=org)
