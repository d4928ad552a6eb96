"""Development or production: the mode decides which secrets a process accepts.

Production is the default. Only ``yilin run`` (and so ``make run``) and the test suite
say ``development`` explicitly; anywhere else a development secret (``dev-only-…``) or
a secret shorter than :data:`MIN_SECRET_BYTES` stops the process at start with one line
naming the setting."""

from __future__ import annotations

from typing import Any, Mapping

DEVELOPMENT = "development"
PRODUCTION = "production"
DEVELOPMENT_ALIASES = ("development", "dev")
DEV_SECRET_PREFIX = "dev-only-"
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HMAC-SHA256 key at least as long as the hash output


class ConfigurationError(RuntimeError):
    """A setting that makes the process unsafe to run; ``yilin serve`` prints the message
    as its one line and exits."""


def check_extensions(service_cls: type, config: Mapping[str, Any]) -> None:
    """Before anything starts: every extension of ``service_cls`` that reads a secret
    checks it (its ``check_configuration(config)``), so a bad one stops the process with
    :class:`ConfigurationError` and no half-started threads."""
    from nameko.containers import ServiceContainer

    container = ServiceContainer(service_cls, dict(config))
    for extension in container.extensions:
        check = getattr(extension, "check_configuration", None)
        if check is not None:
            check(config)


def mode(config: Mapping[str, Any]) -> str:
    """``development`` only when the configuration says so; anything else is production."""
    value = str(config.get("ENVIRONMENT") or PRODUCTION).strip().lower()
    return DEVELOPMENT if value in DEVELOPMENT_ALIASES else PRODUCTION


def require_secret(config: Mapping[str, Any], name: str, env_name: str | None = None) -> bytes:
    """The secret ``name`` as bytes. In production a missing, development or short secret
    raises :class:`ConfigurationError`; in development only a missing one does."""
    label = env_name or f"YILIN_{name}"
    value = str(config.get(name) or "")
    if not value:
        raise ConfigurationError(f"{name} ({label}) is required")
    if mode(config) == PRODUCTION:
        if value.startswith(DEV_SECRET_PREFIX):
            raise ConfigurationError(f"{name} ({label}) is the development default; production needs its own secret")
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"{name} ({label}) must be at least {MIN_SECRET_BYTES} bytes in production")
    return value.encode()
