"""The district's roles live with the services (services/roles.py); the kit is given them.
Tokens are issued and accepted only for the people's roles it is given, never for the
service accounts' role, whatever list it gets."""

from __future__ import annotations

import pytest

from services.roles import AUDIT_READERS, PERSON_ROLES, ROLES, SERVICE
from yilin.errors import Unauthenticated
from yilin.identity import SERVICE_ROLE, Identity
from yilin.tokens import demo_tokens, issue_token, verify_api_key, verify_token

CONFIG = {"JWT_SECRET": "unit-test-jwt-secret-0123456789abcdef", "ENVIRONMENT": "development"}


def test_the_role_lists_agree_with_the_kit() -> None:
    assert SERVICE == SERVICE_ROLE and ROLES == (*PERSON_ROLES, SERVICE)
    assert SERVICE not in PERSON_ROLES and set(AUDIT_READERS) <= set(PERSON_ROLES)
    assert len(set(ROLES)) == len(ROLES)


def test_tokens_carry_only_the_roles_the_kit_is_given() -> None:
    token = issue_token(CONFIG, "auditor", subject="a-1", roles=PERSON_ROLES)
    assert verify_token(CONFIG, token, roles=PERSON_ROLES) == Identity(subject="a-1", role="auditor")
    with pytest.raises(Unauthenticated):
        verify_token(CONFIG, token, roles=("operator",))  # a role the application does not know
    for unknown in ("superuser", SERVICE_ROLE):
        with pytest.raises(ValueError, match="unknown role"):
            issue_token(CONFIG, unknown, roles=ROLES)  # the service accounts' role is never a person's
    assert set(demo_tokens(CONFIG, PERSON_ROLES)) == set(PERSON_ROLES)


def test_api_keys_name_a_service_account_or_a_known_role() -> None:
    from yilin.tokens import hash_api_key

    config = {"API_KEYS": {hash_api_key("k-1"): {"subject": "export", "role": "auditor"}, hash_api_key("k-2"): "sync"}}
    assert verify_api_key(config, "k-1", roles=ROLES).role == "auditor"
    assert verify_api_key(config, "k-2", roles=()).role == SERVICE_ROLE
    with pytest.raises(Unauthenticated):
        verify_api_key(config, "k-1", roles=(SERVICE,))
