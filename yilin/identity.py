"""Who is calling. The gateway authenticates the request and puts the identity in the
RPC context; every service reads it back here and authorises there, so a service is
never more trusting than its gateway."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nameko.extensions import DependencyProvider

IDENTITY_KEY = "yilin.identity"

ROLES = (
    "resident", "volunteer", "team_lead", "social_worker", "org_admin", "verifier",
    "enterprise_rep", "fund_committee", "auditor", "operator", "service",
)


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: a person with a role, or a service account."""

    subject: str
    role: str
    organisation_id: str | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)

    def to_header(self) -> str:
        """Compact JSON for the RPC context (AMQP headers carry strings best)."""
        return json.dumps({"subject": self.subject, "role": self.role, "organisation_id": self.organisation_id,
                           "scopes": list(self.scopes)}, separators=(",", ":"))  # as asdict, without its deep copy

    @classmethod
    def from_header(cls, value: str | None) -> "Identity | None":
        """Parse the RPC context value; ``None`` when absent."""
        if not value:
            return None
        data = json.loads(value)
        return cls(subject=data["subject"], role=data["role"], organisation_id=data.get("organisation_id"),
                   scopes=tuple(data.get("scopes") or ()))


SYSTEM = Identity(subject="system", role="service")


class Caller(DependencyProvider):
    """``self.caller`` in a worker: the identity the gateway vouched for, or the
    system identity for work started inside the platform (timers, events)."""

    def get_dependency(self, worker_ctx: Any) -> Identity:
        return Identity.from_header(worker_ctx.data.get(IDENTITY_KEY)) or SYSTEM
