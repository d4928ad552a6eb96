"""Configuration: nameko's ``config.yml`` with ``${ENV:default}`` substitution, and the
per-service settings every process resolves the same way."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = ROOT / "deploy" / "config.yml"

DEFAULT_AMQP_URI = "pyamqp://guest:guest@localhost:5672/"
DEFAULT_DATABASE_URL = "sqlite:///var/{service}.db"  # relative to the working directory

_ENV_PATTERN = re.compile(r"\$\{([A-Z0-9_]+)(?::([^}]*))?\}")


def substitute_env(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace every ``${NAME}`` / ``${NAME:default}`` in ``text`` from the environment.

    A variable that is unset and has no default is an error, so a missing secret stops
    the process at start-up instead of surfacing later as a wrong value."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(f"environment variable {name} is required by the configuration")
        return default

    return _ENV_PATTERN.sub(replace, text)


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    """``YILIN_CONFIG``, else ``deploy/config.yml`` in the working directory (an installed
    image), else the one beside the source tree (a checkout)."""
    env = os.environ if environ is None else environ
    if env.get("YILIN_CONFIG"):
        return Path(env["YILIN_CONFIG"])
    local = Path("deploy") / "config.yml"
    return local if local.is_file() else DEFAULT_CONFIG_FILE


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Load a nameko YAML config file after environment substitution."""
    text = Path(path or config_file(environ)).read_text()
    return yaml.safe_load(substitute_env(text, environ)) or {}


def database_url(config: Mapping[str, Any], service: str, environ: Mapping[str, str] | None = None) -> str:
    """The database URL of ``service``: ``YILIN_<SERVICE>_DATABASE_URL``, else the
    config's ``DATABASE_URL`` (or the SQLite default) with ``{service}`` filled in."""
    env = os.environ if environ is None else environ
    override = env.get(f"YILIN_{service.upper()}_DATABASE_URL")
    template = override or config.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    return template.replace("{service}", service)


def metrics_port(
    config: Mapping[str, Any], service: str, default: int = 0, environ: Mapping[str, str] | None = None
) -> int:
    """The port of the service's metrics server (``default``: the one the service
    declares, unless the configuration says otherwise); 0 means no server."""
    env = os.environ if environ is None else environ
    if "YILIN_METRICS_PORT" in env:
        return int(env["YILIN_METRICS_PORT"])
    ports = config.get("METRICS_PORTS")
    if ports is not None:  # an explicit table (tests give {}) names every port it wants; the rest are off
        port = int(ports.get(service, 0))
    else:
        port = default
    # An offset lets a second whole stack run beside the first on one machine.
    return port + int(env.get("YILIN_METRICS_PORT_OFFSET", 0)) if port else 0
