"""Token issue and verification (yilin/tokens.py) and the rate limiter's buckets, without a broker."""

from __future__ import annotations

import pytest

from services.gateway.ratelimit import TokenBuckets
from tests.conftest import TEST_JWT_SECRET
from tests.security.attacks import attacks
from yilin.errors import TooManyRequests, Unauthenticated
from yilin.identity import Identity
from yilin.tokens import (PERSON_ROLES, demo_tokens, hash_api_key, issue_token, verify_api_key, signing_key,
                          verify_token)

CONFIG = {"JWT_SECRET": TEST_JWT_SECRET}


def test_issued_tokens_verify_to_their_identity() -> None:
    token = issue_token(CONFIG, "org_admin", subject="u-1", organisation_id="org-9", ttl=60)
    assert verify_token(CONFIG, token) == Identity(subject="u-1", role="org_admin", organisation_id="org-9")
    tokens = demo_tokens(CONFIG)
    assert set(tokens) == set(PERSON_ROLES) and "service" not in tokens
    assert {verify_token(CONFIG, t).role for t in tokens.values()} == set(PERSON_ROLES)


@pytest.mark.parametrize("name", sorted(attacks(TEST_JWT_SECRET, issue_token(CONFIG, "volunteer"))))
def test_attack_tokens_are_refused(name: str) -> None:
    token = attacks(TEST_JWT_SECRET, issue_token(CONFIG, "volunteer", subject="v-1"))[name]
    with pytest.raises(Unauthenticated):
        verify_token(CONFIG, token)


def test_weak_or_development_secrets_are_refused() -> None:
    with pytest.raises(RuntimeError, match="at least 32 bytes"):
        signing_key({"JWT_SECRET": "short"})
    with pytest.raises(RuntimeError, match="at least 32 bytes"):
        signing_key({})
    dev = "dev-only-jwt-secret-change-me-0123456789"
    assert signing_key({"JWT_SECRET": dev}) == dev.encode()
    with pytest.raises(RuntimeError, match="YILIN_JWT_SECRET"):
        signing_key({"JWT_SECRET": dev, "ENVIRONMENT": "production"})
    with pytest.raises(ValueError):
        issue_token(CONFIG, "service")
    with pytest.raises(ValueError):
        issue_token(CONFIG, "operator", ttl=0)


def test_api_keys_are_matched_by_hash_only() -> None:
    config = {"API_KEYS": {hash_api_key("k-tickets-sync"): "tickets-sync",
                           hash_api_key("k-auditor").upper(): {"subject": "audit-export", "role": "auditor"}}}
    assert verify_api_key(config, "k-tickets-sync") == Identity(subject="tickets-sync", role="service")
    assert verify_api_key(config, "k-auditor") == Identity(subject="audit-export", role="auditor")
    for wrong in ("k-tickets-syn", hash_api_key("k-tickets-sync"), ""):
        with pytest.raises(Unauthenticated):
            verify_api_key(config, wrong)


def test_token_buckets_refill_at_the_configured_rate() -> None:
    now = [1000.0]
    buckets = TokenBuckets(6, clock=lambda: now[0])  # 6 a minute: one every 10 s
    for _ in range(6):
        buckets.take("a")
    with pytest.raises(TooManyRequests) as refused:
        buckets.take("a")
    assert refused.value.fields["retry_after"] == ["10"]
    buckets.take("b")  # per caller
    now[0] += 10
    buckets.take("a")
    with pytest.raises(TooManyRequests):
        buckets.take("a")


def test_token_command_prints_a_token_on_its_last_line() -> None:
    from click.testing import CliRunner

    from yilin.cli import main
    from yilin.config import load_config

    result = CliRunner().invoke(main, ["token", "--role", "org_admin", "--subject", "u-7", "--organisation", "o-1",
                                       "--ttl", "120"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert verify_token(load_config(), token) == Identity(subject="u-7", role="org_admin", organisation_id="o-1")
    refused = CliRunner().invoke(main, ["token", "--role", "service"])
    assert refused.exit_code != 0 and "--role" in refused.output
