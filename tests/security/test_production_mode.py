"""Fail-closed configuration: production is the default, and a service started in
production with a development or short secret exits at once with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.harness import ROOT
from yilin.identity import new_private_key
from yilinctl.supervisor import START_FAILED

STRONG = "s" * 48
KEY = new_private_key()[0]  # a well-formed identity key


def serve(service: str, amqp_uri: str, tmp_path: object, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("YILIN_")}
    environ.update(
        {
            "YILIN_AMQP_URI": amqp_uri,
            "YILIN_DATABASE_URL": f"sqlite:///{tmp_path}/{{service}}.db",
            "YILIN_METRICS_PORT": "0",
            "YILIN_HTTP_ADDRESS": "127.0.0.1:0",
        }
    )
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "yilinctl.cli", "serve", service],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "service,env,named",
    [
        # no YILIN_ENV at all: production wants the service's own key
        ("registry", {"YILIN_PII_KEY": STRONG}, "YILIN_IDENTITY_KEY_REGISTRY) is required"),
        ("registry", {"YILIN_ENV": "production", "YILIN_IDENTITY_KEY_REGISTRY": KEY}, "PII_KEY"),
        ("registry", {"YILIN_IDENTITY_KEY_REGISTRY": "dev-only-identity-key"}, "development default"),
        ("registry", {"YILIN_IDENTITY_KEY_REGISTRY": STRONG, "YILIN_PII_KEY": STRONG}, "IDENTITY_KEYS[registry]"),
        # another signer's key is not this service's: hours needs its own
        (
            "hours",
            {"YILIN_IDENTITY_KEY_GATEWAY": KEY, "YILIN_PII_KEY": STRONG, "YILIN_CERTIFICATE_KEY": STRONG},
            "YILIN_IDENTITY_KEY_HOURS",
        ),
        (
            "hours",
            {"YILIN_IDENTITY_KEY_HOURS": KEY, "YILIN_PII_KEY": STRONG, "YILIN_CERTIFICATE_KEY": "short"},
            "CERTIFICATE_KEY",
        ),
        (
            "hours",
            {
                "YILIN_IDENTITY_KEY_HOURS": KEY,
                "YILIN_PII_KEY": STRONG,
                "YILIN_CERTIFICATE_KEY": STRONG,
                "YILIN_IDENTITY_PUBLIC_KEY_GATEWAY": "short",
            },
            "YILIN_IDENTITY_PUBLIC_KEY_GATEWAY",
        ),
        ("gateway", {"YILIN_IDENTITY_KEY_GATEWAY": KEY, "YILIN_PII_KEY": STRONG}, "JWT_SECRET"),
    ],
)
def test_a_development_or_short_secret_stops_a_production_service(
    amqp_uri: str, tmp_path: object, service: str, env: dict[str, str], named: str
) -> None:
    done = serve(service, amqp_uri, tmp_path, **env)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == START_FAILED, lines
    assert len(lines) == 1 and named in lines[0] and f"{service} failed to start: ConfigurationError" in lines[0], lines
