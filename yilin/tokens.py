"""Bearer tokens for people and API keys for service accounts.

Tokens are JWTs signed with HMAC-SHA256 under ``JWT_SECRET`` (configuration, never the
repository). Verification follows RFC 8725: one allowed algorithm, and ``exp``, ``iss``,
``aud`` and ``sub`` must be present and right, so ``alg: none``, algorithm confusion,
expired, foreign and tampered tokens all fail the same way. API keys are stored only as
SHA-256 hashes (``API_KEYS``: hash → service identity); a leaked configuration does not
leak the keys."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any, Callable, Collection, Mapping

import jwt

from yilin.environment import MIN_SECRET_BYTES, ConfigurationError, require_secret
from yilin.errors import Unauthenticated
from yilin.identity import SERVICE_ROLE, Identity

ISSUER = "yilin"
AUDIENCE = "yilin-api"
ALGORITHMS = ["HS256"]
DEFAULT_TTL = 3600
MAX_TTL = 30 * 24 * 3600
LEEWAY = 30  # seconds of clock skew tolerated between replicas
VERIFIED_CACHE_SECONDS = 60.0  # how long a verified token is taken on trust (never past its exp)
VERIFIED_CACHE_SIZE = 10_000


def signing_key(config: Mapping[str, Any]) -> bytes:
    """The HMAC key from ``JWT_SECRET``; refuses a missing or short key, and the
    development default anywhere but in development."""
    secret = require_secret(config, "JWT_SECRET")
    if len(secret) < MIN_SECRET_BYTES:  # HS256 needs the length in development too
        raise ConfigurationError(f"JWT_SECRET (YILIN_JWT_SECRET) must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def issue_token(
    config: Mapping[str, Any],
    role: str,
    subject: str | None = None,
    organisation_id: str | None = None,
    ttl: int = DEFAULT_TTL,
    *,
    roles: Collection[str],
) -> str:
    """A signed bearer token for a person with ``role``, one of ``roles`` (the people's
    roles the application defines; never the service accounts', which use API keys)."""
    if role not in roles or role == SERVICE_ROLE:
        raise ValueError(f"unknown role {role!r}; one of: {', '.join(roles)}")
    if not 1 <= ttl <= MAX_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_TTL} seconds")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject or f"{role}-{uuid.uuid4()}",
        "role": role,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    if organisation_id:
        claims["org"] = organisation_id
    return jwt.encode(claims, signing_key(config), algorithm=ALGORITHMS[0], headers={"typ": "JWT"})


def verify_token(config: Mapping[str, Any], token: str, *, roles: Collection[str]) -> Identity:
    """The identity a valid token carries, its role one of ``roles``; :class:`Unauthenticated`
    for anything else. The reason is kept generic on purpose: a caller learns nothing from
    probing."""
    return _verify(config, token, roles)[0]


def _verify(config: Mapping[str, Any], token: str, roles: Collection[str]) -> tuple[Identity, float]:
    """The token's identity and the last moment it is accepted (``exp`` plus the leeway)."""
    try:
        claims = jwt.decode(
            token,
            signing_key(config),
            algorithms=ALGORITHMS,
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "iss", "aud", "sub"], "strict_aud": True},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the token is not valid") from None
    if not isinstance(claims["iat"], (int, float)) or claims["exp"] - claims["iat"] > MAX_TTL:
        raise Unauthenticated("the token is not valid")  # no token lives longer than MAX_TTL, whoever signed it
    role, subject, org = claims.get("role"), claims.get("sub"), claims.get("org")
    if not isinstance(role, str) or role not in roles or role == SERVICE_ROLE:
        raise Unauthenticated("the token is not valid")
    if not isinstance(subject, str) or not subject or len(subject) > 128:
        raise Unauthenticated("the token is not valid")
    if org is not None and (not isinstance(org, str) or len(org) > 64):
        raise Unauthenticated("the token is not valid")
    return Identity(subject=subject, role=role, organisation_id=org), float(claims["exp"]) + LEEWAY


class VerifiedTokens:
    """:func:`verify_token` with a memory: a token verified in the last ``seconds`` is
    accepted again without decoding it (an HMAC check and the claims cost ~0.2 ms, a
    large share of a gateway read). An entry never outlives the token's own expiry,
    so a cached token is accepted exactly when ``verify_token`` would accept it; only
    tokens that passed are remembered, and at most ``size`` of them."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        roles: Collection[str],
        seconds: float = VERIFIED_CACHE_SECONDS,
        size: int = VERIFIED_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
        oidc: Any = None,
    ) -> None:
        signing_key(config)  # refuse a bad secret now, not at the first request
        self.config = config
        self.roles = roles  # the people's roles a token may carry
        self.oidc = oidc  # a yilin.oidc.OidcVerifier: RS256/ES256 tokens of the district's provider
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._verified: dict[str, tuple[Identity, float]] = {}

    def verify(self, token: str) -> Identity:
        """The identity of ``token``; :class:`Unauthenticated` as :func:`verify_token`."""
        now = self.clock()
        hit = self._verified.get(token)
        if hit is not None and now < hit[1]:
            return hit[0]
        if self.oidc is not None and _algorithm(token) != ALGORITHMS[0]:
            verified: Identity = self.oidc.verify(token)  # its keys are cached; each token is checked against them
            return verified
        identity, accepted_until = _verify(self.config, token, self.roles)
        if len(self._verified) >= self.size:  # full: drop the expired, then the oldest half if need be
            live = [(t, e) for t, e in self._verified.items() if now < e[1]]
            self._verified = dict(live if len(live) < self.size // 2 else live[len(live) - self.size // 2 :])
        self._verified[token] = (identity, min(accepted_until, now + self.seconds))
        return identity


def _algorithm(token: str) -> str | None:
    try:
        return jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        return None


def demo_tokens(config: Mapping[str, Any], roles: Collection[str], ttl: int = 12 * 3600) -> dict[str, str]:
    """One token per person role of ``roles``, for a laptop run (``make run`` prints them)."""
    return {role: issue_token(config, role, subject=f"demo-{role}", ttl=ttl, roles=roles) for role in roles}


def hash_api_key(key: str) -> str:
    """What ``API_KEYS`` stores for ``key``: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def verify_api_key(config: Mapping[str, Any], key: str, *, roles: Collection[str]) -> Identity:
    """The service account behind an API key. ``API_KEYS`` maps a key's SHA-256 to the
    account's name (a service account), or to ``{subject, role, organisation_id}`` with a
    role of ``roles``."""
    digest = hash_api_key(key)
    found: Any = None
    for stored, account in (config.get("API_KEYS") or {}).items():
        # compare every entry in constant time, so timing reveals nothing about near misses
        if hmac.compare_digest(str(stored).lower(), digest):
            found = account
    if found is None:
        raise Unauthenticated("the API key is not valid")
    if isinstance(found, str):
        return Identity(subject=found, role=SERVICE_ROLE)
    role = found.get("role", SERVICE_ROLE)
    if role not in roles and role != SERVICE_ROLE:
        raise Unauthenticated("the API key is not valid")
    return Identity(subject=str(found["subject"]), role=role, organisation_id=found.get("organisation_id"))
