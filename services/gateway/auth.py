"""Authentication seam: turns a request into an :class:`~yilin.identity.Identity`.

Until bearer tokens arrive every caller is the local operator; this function is the
one place that changes when they do."""

from __future__ import annotations

from typing import Any, Mapping

from werkzeug.wrappers import Request

from yilin.identity import Identity

LOCAL_OPERATOR = Identity(subject="local-operator", role="operator")


def authenticate(request: Request, config: Mapping[str, Any]) -> Identity:
    """The caller of ``request``; raises :class:`yilin.errors.Unauthenticated` when the
    credentials are missing or wrong."""
    return LOCAL_OPERATOR


def authorise(identity: Identity, roles: tuple[str, ...] | None) -> bool:
    """Whether ``identity`` may use a route open to ``roles`` (``None``: any caller)."""
    return roles is None or identity.role in roles
