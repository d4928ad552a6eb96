"""Request headers for each kind of caller in the security tests."""

from __future__ import annotations

from services.roles import PERSON_ROLES
from tests.conftest import TEST_JWT_SECRET
from yilin.tokens import hash_api_key, issue_token

SERVICE_KEY = "test-service-key-0123456789"
AUDITOR_KEY = "test-auditor-key-0123456789"
API_KEYS = {
    hash_api_key(SERVICE_KEY): "sync-job",
    hash_api_key(AUDITOR_KEY): {"subject": "audit-export", "role": "auditor"},
}


def bearer(role: str, subject: str | None = None, organisation_id: str | None = None) -> dict[str, str]:
    token = issue_token(
        {"JWT_SECRET": TEST_JWT_SECRET}, role, subject=subject, organisation_id=organisation_id, roles=PERSON_ROLES
    )
    return {"Authorization": f"Bearer {token}"}


def as_role(role: str, subject: str | None = None, organisation_id: str | None = None) -> dict[str, str]:
    """Headers for ``role``: a bearer token for people, the API key for the service account."""
    if role == "service":
        return {"X-API-Key": SERVICE_KEY}
    return bearer(role, subject, organisation_id)
