"""Who is calling, and how a service knows it.

The gateway authenticates a request and passes the caller on as a *signed assertion*:
the identity, the signer and an expiry, under an HMAC-SHA256 keyed by
``IDENTITY_SECRET`` (configuration, shared by Yilin's own processes and nobody else).
Every RPC entrypoint (:mod:`yilin.rpc`) verifies it before a worker starts and refuses a
call that carries none, an unsigned one, a forged or an expired one; a client on the
broker without the secret cannot speak for anybody. Work a service starts itself
(timers, events) runs as that service's named account, and so do the RPC calls it makes
from that work; the CLI and tools call as named accounts of their own
(:func:`identity_context`). Nothing runs as an all-powerful default."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from nameko.extensions import DependencyProvider

from yilin.environment import require_secret
from yilin.errors import Unauthenticated

IDENTITY_KEY = "yilin.identity"
VERIFIED_KEY = "yilin.verified"  # set by the RPC entrypoint after verification; never trusted from the wire
SERVICE_ROLE = "service"
ASSERTION_TTL = 300  # seconds: a gateway request's assertion outlives any RPC it starts
ACCOUNT_TTL = 6 * 3600  # seconds: a CLI run or a benchmark signs once for all its calls
MAX_ASSERTION_LENGTH = 2048


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: a person with a role, or a named service account."""

    subject: str
    role: str
    organisation_id: str | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)

    def to_header(self) -> str:
        """Compact JSON of the identity (the payload an assertion signs)."""
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


def service_account(name: str) -> Identity:
    """The named account a service (or tool) ``name`` acts as for work nobody asked for."""
    return Identity(subject=f"service:{name}", role=SERVICE_ROLE)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def assertion_key(config: Mapping[str, Any]) -> bytes:
    """The HMAC key of identity assertions; refuses a weak or development key in production."""
    return require_secret(config, "IDENTITY_SECRET")


def sign_assertion(config: Mapping[str, Any], identity: Identity, signer: str, ttl: int = ASSERTION_TTL) -> str:
    """``payload.signature``: ``identity`` vouched for by ``signer`` until ``ttl`` seconds from now."""
    payload = json.loads(identity.to_header())
    payload.update({"signer": signer, "exp": int(time.time()) + ttl})
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(assertion_key(config), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_assertion(config: Mapping[str, Any], value: Any, key: bytes | None = None) -> Identity:
    """The identity a valid assertion carries; :class:`Unauthenticated` for a missing,
    malformed, forged or expired one (one generic message: probing teaches nothing)."""
    refused = Unauthenticated("the call carries no verifiable identity")
    if not isinstance(value, str) or not value or len(value) > MAX_ASSERTION_LENGTH or value.count(".") != 1:
        raise refused
    body, _, signature = value.partition(".")
    expected = hmac.new(key or assertion_key(config), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise refused
        data = json.loads(_unb64(body))
    except (ValueError, TypeError):
        raise refused from None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] < time.time():
        raise refused
    subject, role, org = data.get("subject"), data.get("role"), data.get("organisation_id")
    if not isinstance(subject, str) or not subject or not isinstance(role, str) or not role:
        raise refused
    if org is not None and not isinstance(org, str):
        raise refused
    return Identity(
        subject=subject, role=role, organisation_id=org, scopes=tuple(str(s) for s in data.get("scopes") or ())
    )


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
    (a timer, an event) gets an assertion of the service's own account, so the RPC calls
    it makes are authenticated too; the key is checked when the service starts."""

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        """A weak or missing identity key stops the service before it starts."""
        assertion_key(config)

    def setup(self) -> None:
        self.key = assertion_key(self.container.config)

    def worker_setup(self, worker_ctx: Any) -> None:
        if not verifies_identity(worker_ctx):
            worker_ctx.data.pop(VERIFIED_KEY, None)
            worker_ctx.data[IDENTITY_KEY] = sign_assertion(
                self.container.config, service_account(self.container.service_name), self.container.service_name
            )

    def get_dependency(self, worker_ctx: Any) -> Identity:
        return caller_of(worker_ctx)
