"""Token issue and verification (yilin/tokens.py) and the rate limiter's buckets, without a broker."""

from __future__ import annotations

import pytest

from services.gateway.ratelimit import TokenBuckets
from services.roles import PERSON_ROLES, ROLES
from tests.conftest import TEST_JWT_SECRET
from tests.security.attacks import attacks
from yilin.errors import TooManyRequests, Unauthenticated
from yilin.identity import Identity
from yilin.tokens import (
    LEEWAY,
    VerifiedTokens,
    demo_tokens,
    hash_api_key,
    issue_token,
    signing_key,
    verify_api_key,
    verify_token,
)

CONFIG = {"JWT_SECRET": TEST_JWT_SECRET}


def test_issued_tokens_verify_to_their_identity() -> None:
    token = issue_token(CONFIG, "org_admin", subject="u-1", organisation_id="org-9", ttl=60, roles=PERSON_ROLES)
    assert verify_token(CONFIG, token, roles=PERSON_ROLES) == Identity(
        subject="u-1", role="org_admin", organisation_id="org-9"
    )
    tokens = demo_tokens(CONFIG, PERSON_ROLES)
    assert set(tokens) == set(PERSON_ROLES) and "service" not in tokens
    assert {verify_token(CONFIG, t, roles=PERSON_ROLES).role for t in tokens.values()} == set(PERSON_ROLES)


@pytest.mark.parametrize("name", sorted(attacks(TEST_JWT_SECRET, issue_token(CONFIG, "volunteer", roles=PERSON_ROLES))))
def test_attack_tokens_are_refused(name: str) -> None:
    token = attacks(TEST_JWT_SECRET, issue_token(CONFIG, "volunteer", subject="v-1", roles=PERSON_ROLES))[name]
    with pytest.raises(Unauthenticated):
        verify_token(CONFIG, token, roles=PERSON_ROLES)


@pytest.mark.parametrize("name", sorted(attacks(TEST_JWT_SECRET, issue_token(CONFIG, "volunteer", roles=PERSON_ROLES))))
def test_attack_tokens_are_refused_by_the_cache_too(name: str) -> None:
    valid = issue_token(CONFIG, "volunteer", subject="v-1", roles=PERSON_ROLES)
    tokens = VerifiedTokens(CONFIG, roles=PERSON_ROLES)
    tokens.verify(valid)  # a valid token in the cache lets no variant of it through
    for _ in range(2):  # and a refusal is not remembered as anything else
        with pytest.raises(Unauthenticated):
            tokens.verify(attacks(TEST_JWT_SECRET, valid)[name])


def test_cached_tokens_are_verified_again_before_verification_would_refuse_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    import jwt

    from yilin import tokens as module

    long_lived = issue_token(CONFIG, "auditor", subject="a-1", ttl=3600, roles=PERSON_ROLES)
    short_lived = issue_token(CONFIG, "auditor", subject="a-2", ttl=5, roles=PERSON_ROLES)
    identities = {token: verify_token(CONFIG, token, roles=PERSON_ROLES) for token in (long_lived, short_lived)}
    decoded: list[str] = []
    real = module._verify
    monkeypatch.setattr(
        module, "_verify", lambda config, token, roles: decoded.append(token) or real(config, token, roles)
    )
    now = [time.time()]
    cache = VerifiedTokens(CONFIG, roles=PERSON_ROLES, seconds=60, clock=lambda: now[0])
    for token in (long_lived, short_lived, long_lived, short_lived):
        assert cache.verify(token) == identities[token]
    assert decoded == [long_lived, short_lived]  # the second time each came from the cache
    # an entry lasts `seconds` at most, and never past the token's expiry plus the leeway
    # every replica allows (exactly when jwt.decode starts refusing it)
    exp = jwt.decode(short_lived, options={"verify_signature": False})["exp"]
    assert cache._verified[short_lived][1] == exp + LEEWAY < now[0] + 60
    assert cache._verified[long_lived][1] == now[0] + 60
    now[0] = exp + LEEWAY
    cache.verify(short_lived)
    now[0] += 60
    cache.verify(long_lived)
    assert decoded == [long_lived, short_lived, short_lived, long_lived]


def test_the_verified_token_cache_stays_bounded() -> None:
    tokens = VerifiedTokens(CONFIG, roles=PERSON_ROLES, size=10)
    issued = [issue_token(CONFIG, "volunteer", subject=f"v-{i}", roles=PERSON_ROLES) for i in range(25)]
    for token in issued:
        assert tokens.verify(token).subject == f"v-{issued.index(token)}"
    assert len(tokens._verified) <= 10 and issued[-1] in tokens._verified


def test_weak_or_development_secrets_are_refused() -> None:
    with pytest.raises(RuntimeError, match="at least 32 bytes"):
        signing_key({"JWT_SECRET": "short"})
    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        signing_key({})
    dev = "dev-only-jwt-secret-change-me-0123456789"
    assert signing_key({"JWT_SECRET": dev, "ENVIRONMENT": "development"}) == dev.encode()
    for production in ({"JWT_SECRET": dev, "ENVIRONMENT": "production"}, {"JWT_SECRET": dev}):  # the default too
        with pytest.raises(RuntimeError, match="YILIN_JWT_SECRET"):
            signing_key(production)
    with pytest.raises(ValueError):
        issue_token(CONFIG, "service", roles=PERSON_ROLES)
    with pytest.raises(ValueError):
        issue_token(CONFIG, "operator", ttl=0, roles=PERSON_ROLES)


def test_api_keys_are_matched_by_hash_only() -> None:
    config = {
        "API_KEYS": {
            hash_api_key("k-tickets-sync"): "tickets-sync",
            hash_api_key("k-auditor").upper(): {"subject": "audit-export", "role": "auditor"},
        }
    }
    assert verify_api_key(config, "k-tickets-sync", roles=ROLES) == Identity(subject="tickets-sync", role="service")
    assert verify_api_key(config, "k-auditor", roles=ROLES) == Identity(subject="audit-export", role="auditor")
    for wrong in ("k-tickets-syn", hash_api_key("k-tickets-sync"), ""):
        with pytest.raises(Unauthenticated):
            verify_api_key(config, wrong, roles=ROLES)


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

    from yilin.config import load_config
    from yilinctl.cli import main

    production = CliRunner().invoke(main, ["token", "--role", "org_admin"])  # the default mode: dev secret refused
    assert production.exit_code != 0 and "YILIN_JWT_SECRET" in str(production.exception), production.output
    development = {"YILIN_ENV": "development"}
    result = CliRunner(env=development).invoke(
        main, ["token", "--role", "org_admin", "--subject", "u-7", "--organisation", "o-1", "--ttl", "120"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert verify_token(load_config(environ=development), token, roles=PERSON_ROLES) == Identity(
        subject="u-7", role="org_admin", organisation_id="o-1"
    )
    refused = CliRunner().invoke(main, ["token", "--role", "service"])
    assert refused.exit_code != 0 and "--role" in refused.output
