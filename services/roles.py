"""The district's roles: who a person may be on the platform, and who reads the audit
trail. The kit (``yilin/``) knows none of them; it is given them where it needs them:
the token issuer and verifiers (:mod:`yilin.tokens`, :mod:`yilin.oidc`) take the roles a
token or an API key may carry, and each service's :class:`yilin.audit.AuditLogRpc` its
``audit_readers``. Each service's ``permissions.py`` says what every role may do there."""

from __future__ import annotations

# People sign in with bearer tokens (issued here or by the district's OIDC provider).
PERSON_ROLES = (
    "resident",
    "volunteer",
    "team_lead",
    "social_worker",
    "org_admin",
    "verifier",
    "enterprise_rep",
    "fund_committee",
    "auditor",
    "operator",
)
# Work the platform starts itself, and tools, act as service accounts (the kit's
# ``SERVICE_ROLE``); they authenticate with API keys, never with a person's token.
SERVICE = "service"
ROLES = (*PERSON_ROLES, SERVICE)

# Who may read a service's audit trail (``GET /api/v1/audit``); service accounts may too.
AUDIT_READERS = ("auditor", "operator")
