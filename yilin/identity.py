"""Who is calling, and how a service knows it.

The gateway authenticates a request and passes the caller on as a *signed assertion*:
the identity, the signer and an expiry, signed with the signer's own Ed25519 key. Each
process signs with its own key (``IDENTITY_KEYS[<signer>]``, which only that process
holds) and each service verifies with the public keys of the signers it trusts
(``IDENTITY_PUBLIC_KEYS``, signer → public key). A verifier cannot sign for another
signer, so a compromised service can neither speak as the gateway nor as another
service: only the signers in ``IDENTITY_PERSON_SIGNERS`` (the gateway) vouch for people;
any other signer vouches only for its own account (``service:<signer>`` or
``service:<signer>-…``). Every RPC entrypoint (:mod:`yilin.rpc`) verifies it before a
worker starts and refuses a call that carries none, an unsigned one, a forged, an
expired one, or one from a signer it does not trust. Work a service starts itself
(timers, events) runs as that service's named account, and so do the RPC calls it makes
from that work; the CLI and tools call as named accounts of their own
(:func:`identity_context`). Nothing runs as an all-powerful default.

In development (``ENVIRONMENT``) a signer without a configured key gets one derived
from its name, so ``make run`` and the tests need no key material; production refuses
a missing, development or malformed key."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nameko.extensions import DependencyProvider

from yilin.environment import DEV_SECRET_PREFIX, DEVELOPMENT, ConfigurationError, mode
from yilin.errors import Unauthenticated

IDENTITY_KEY = "yilin.identity"
VERIFIED_KEY = "yilin.verified"  # set by the RPC entrypoint after verification; never trusted from the wire
SERVICE_ROLE = "service"
ASSERTION_TTL = 300  # seconds: a gateway request's assertion outlives any RPC it starts
ACCOUNT_TTL = 6 * 3600  # seconds: a CLI run or a benchmark signs once for all its calls
MAX_ASSERTION_LENGTH = 2048
KEY_BYTES = 32  # an Ed25519 private key (its seed) and public key alike
PERSON_SIGNERS = ("gateway",)  # who vouches for people unless IDENTITY_PERSON_SIGNERS says otherwise
DEV_KEY_LABEL = b"dev-only yilin identity key:"
SEEN_LIMIT = 4096  # verified assertions remembered per process
_SIGNED: dict[tuple[str, str, bool, "Identity", int], tuple[str, float]] = {}  # see sign_assertion


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: a person with a role, or a named service account."""

    subject: str
    role: str
    organisation_id: str | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)

    def to_header(self) -> str:
        """Compact JSON of the identity (the payload an assertion signs)."""
        return _header(self)

    def _json(self) -> str:
        return json.dumps(
            {
                "subject": self.subject,
                "role": self.role,
                "organisation_id": self.organisation_id,
                "scopes": list(self.scopes),
            },
            separators=(",", ":"),
        )  # as asdict, without its deep copy

    @classmethod
    def from_header(cls, value: str | None) -> "Identity | None":
        """Parse :meth:`to_header`'s JSON; ``None`` when absent. No verification: only for
        values this process produced itself."""
        if not value:
            return None
        data = json.loads(value)
        return cls(
            subject=data["subject"],
            role=data["role"],
            organisation_id=data.get("organisation_id"),
            scopes=tuple(data.get("scopes") or ()),
        )


@functools.lru_cache(maxsize=SEEN_LIMIT)  # a service builds it for every read it verifies
def _header(identity: Identity) -> str:
    return identity._json()


def service_account(name: str) -> Identity:
    """The named account a service (or tool) ``name`` acts as for work nobody asked for."""
    return Identity(subject=f"service:{name}", role=SERVICE_ROLE)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_private_key() -> tuple[str, str]:
    """A fresh signing key: ``(private, public)``, each base64url of its 32 bytes."""
    key = Ed25519PrivateKey.generate()
    return _b64(key.private_bytes_raw()), _b64(key.public_key().public_bytes_raw())


def _development_key(signer: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(DEV_KEY_LABEL + signer.encode()).digest())


def _decoded(name: str, label: str, value: str) -> bytes:
    try:
        raw = _unb64(value)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(f"{name} ({label}) must be base64url of {KEY_BYTES} bytes")
    return raw


def _setting(config: Mapping[str, Any], table: str, signer: str) -> str:
    keys = config.get(table) or {}
    return str(keys.get(signer) or "") if isinstance(keys, Mapping) else ""


def signing_key(config: Mapping[str, Any], signer: str) -> Ed25519PrivateKey:
    """``signer``'s own private key (``IDENTITY_KEYS[signer]``, env
    ``YILIN_IDENTITY_KEY_<SIGNER>``): in development a derived one when none (or a
    ``dev-only-…`` one) is set; in production a missing, development or malformed key
    raises :class:`ConfigurationError`."""
    return _signing_key(signer, _setting(config, "IDENTITY_KEYS", signer), mode(config) == DEVELOPMENT)


@functools.lru_cache(maxsize=64)  # the gateway signs per request: the key is loaded once
def _signing_key(signer: str, value: str, development: bool) -> Ed25519PrivateKey:
    name, label = f"IDENTITY_KEYS[{signer}]", env_name("YILIN_IDENTITY_KEY_", signer)
    if development and (not value or value.startswith(DEV_SECRET_PREFIX)):
        return _development_key(signer)
    if not value:
        raise ConfigurationError(f"{name} ({label}) is required")
    if value.startswith(DEV_SECRET_PREFIX):
        raise ConfigurationError(f"{name} ({label}) is the development default; production needs its own key")
    return Ed25519PrivateKey.from_private_bytes(_decoded(name, label, value))


def env_name(prefix: str, signer: str) -> str:
    """The environment variable of a signer's key: ``YILIN_IDENTITY_KEY_CLI`` for ``cli``."""
    return prefix + signer.upper().replace("-", "_")


class Verifier:
    """The public keys of the signers a process trusts (``IDENTITY_PUBLIC_KEYS``, env
    ``YILIN_IDENTITY_PUBLIC_KEY_<SIGNER>``; in development, any signer's derived key)
    and the assertions it verified lately, so an assertion passed along a chain of
    calls is checked once per process."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.development = mode(config) == DEVELOPMENT
        self.keys: dict[str, Ed25519PublicKey] = {}
        for signer, value in dict(config.get("IDENTITY_PUBLIC_KEYS") or {}).items():
            if value and not (self.development and str(value).startswith(DEV_SECRET_PREFIX)):
                label = env_name("YILIN_IDENTITY_PUBLIC_KEY_", signer)
                raw = _decoded(f"IDENTITY_PUBLIC_KEYS[{signer}]", label, str(value))
                self.keys[signer] = Ed25519PublicKey.from_public_bytes(raw)
        people = config.get("IDENTITY_PERSON_SIGNERS", PERSON_SIGNERS)
        self.person_signers = frozenset(people.split(",") if isinstance(people, str) else people or ())
        self.seen: dict[str, tuple[Identity, int]] = {}

    def key(self, signer: str) -> Ed25519PublicKey | None:
        """The signer's public key; ``None`` for a signer this process does not trust."""
        if signer not in self.keys and self.development:
            self.keys[signer] = _development_key(signer).public_key()
        return self.keys.get(signer)

    def vouches(self, signer: str, identity: Identity) -> bool:
        """Whether ``signer`` may vouch for ``identity``: the person signers for anyone,
        any other signer only for its own account."""
        if signer in self.person_signers:
            return True
        own = f"service:{signer}"
        return identity.role == SERVICE_ROLE and (identity.subject == own or identity.subject.startswith(own + "-"))


def sign_assertion(config: Mapping[str, Any], identity: Identity, signer: str, ttl: int = ASSERTION_TTL) -> str:
    """``payload.signature``: ``identity`` vouched for by ``signer`` for at least four
    fifths of ``ttl`` seconds, signed with ``signer``'s own key (:func:`signing_key`).
    One signed within the last fifth of ``ttl`` for the same identity is reused, so a
    caller's requests cost a signature a minute and the services' memory of verified
    assertions (:class:`Verifier`) answers the rest."""
    value, development = _setting(config, "IDENTITY_KEYS", signer), mode(config) == DEVELOPMENT
    key = _signing_key(signer, value, development)
    cached = (signer, value, development, identity, ttl)  # a frozen Identity hashes by its fields
    now = time.monotonic()
    signed = _SIGNED.get(cached)
    if signed is not None and now - signed[1] < ttl / 5:
        return signed[0]
    if len(_SIGNED) >= SEEN_LIMIT:
        _SIGNED.clear()
    assertion = sign_with(key, identity, signer, ttl)
    _SIGNED[cached] = (assertion, now)
    return assertion


def sign_with(key: Ed25519PrivateKey, identity: Identity, signer: str, ttl: int = ASSERTION_TTL) -> str:
    """:func:`sign_assertion` with a key already loaded."""
    payload = json.loads(identity.to_header())
    payload.update({"signer": signer, "exp": int(time.time()) + ttl})
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64(key.sign(body.encode()))}"


def verify_assertion(config: Mapping[str, Any], value: Any, verifier: Verifier | None = None) -> Identity:
    """The identity a valid assertion carries; :class:`Unauthenticated` for a missing,
    malformed, forged or expired one, or one whose signer this process does not trust
    or who may not vouch for that identity (one generic message: probing teaches nothing)."""
    verifier = verifier or Verifier(config)
    refused = Unauthenticated("the call carries no verifiable identity")
    if not isinstance(value, str) or not value or len(value) > MAX_ASSERTION_LENGTH or value.count(".") != 1:
        raise refused
    now = time.time()
    known = verifier.seen.get(value)
    if known is not None and known[1] >= now:
        return known[0]
    body, _, signature = value.partition(".")
    try:
        data = json.loads(_unb64(body))
        signer = data.get("signer") if isinstance(data, dict) else None
        if not isinstance(signer, str):
            raise refused
        key = verifier.key(signer)
        if key is None:
            raise refused
        key.verify(_unb64(signature), body.encode())
    except (ValueError, TypeError, InvalidSignature):
        raise refused from None
    if not isinstance(data.get("exp"), int) or data["exp"] < now:
        raise refused
    subject, role, org = data.get("subject"), data.get("role"), data.get("organisation_id")
    if not isinstance(subject, str) or not subject or not isinstance(role, str) or not role:
        raise refused
    if org is not None and not isinstance(org, str):
        raise refused
    identity = Identity(
        subject=subject, role=role, organisation_id=org, scopes=tuple(str(s) for s in data.get("scopes") or ())
    )
    if not verifier.vouches(signer, identity):
        raise refused
    if len(verifier.seen) >= SEEN_LIMIT:
        verifier.seen.clear()  # a bound, not an LRU: a refill costs one verification each
    verifier.seen[value] = (identity, data["exp"])
    return identity


def identity_context(
    config: Mapping[str, Any], identity: Identity, signer: str, ttl: int = ACCOUNT_TTL
) -> dict[str, str]:
    """nameko ``context_data`` for a standalone RPC client calling as ``identity``."""
    return {IDENTITY_KEY: sign_assertion(config, identity, signer, ttl)}


def caller_of(worker_ctx: Any) -> Identity:
    """The caller of a worker: the identity its RPC entrypoint verified, else (timers,
    events, HTTP) the account of the service itself."""
    verified = worker_ctx.data.get(VERIFIED_KEY)
    if isinstance(verified, str) and verifies_identity(worker_ctx):
        return Identity.from_header(verified)  # type: ignore[return-value]  # set by yilin.rpc, never None
    return service_account(worker_ctx.container.service_name)


def verifies_identity(worker_ctx: Any) -> bool:
    """Whether the worker's entrypoint verified the caller's assertion before it started
    (:class:`yilin.rpc.Rpc` does); only then is :data:`VERIFIED_KEY` its own word."""
    return bool(getattr(worker_ctx.entrypoint, "verifies_identity", False))


class Caller(DependencyProvider):
    """``self.caller`` in a worker (see :func:`caller_of`). Work that no caller started
    (a timer, an event) gets an assertion of the service's own account, signed with the
    service's own key (checked when the service starts)."""

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        """A missing, development or malformed key of this service stops it before it starts."""
        signing_key(config, self.container.service_name)

    def worker_setup(self, worker_ctx: Any) -> None:
        if not verifies_identity(worker_ctx):
            worker_ctx.data.pop(VERIFIED_KEY, None)
            name = self.container.service_name
            worker_ctx.data[IDENTITY_KEY] = sign_assertion(self.container.config, service_account(name), name)

    def get_dependency(self, worker_ctx: Any) -> Identity:
        return caller_of(worker_ctx)
