"""Authentication: turns a request into an :class:`~yilin.identity.Identity`.

People send ``Authorization: Bearer <JWT>``; service accounts send ``X-API-Key``.
Anything missing or wrong is :class:`~yilin.errors.Unauthenticated` (401 with
``WWW-Authenticate: Bearer``). Authorisation by role happens here for each route, and
again, per object, in the service that owns the data."""

from __future__ import annotations

from typing import Any, Mapping

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from services.roles import PERSON_ROLES, ROLES
from yilin.errors import Unauthenticated
from yilin.identity import Identity
from yilin.oidc import OidcSettings, OidcVerifier
from yilin.tokens import VerifiedTokens, signing_key, verify_api_key, verify_token

API_KEY_HEADER = "X-API-Key"
MAX_CREDENTIAL_LENGTH = 4096  # far above any token we issue; bounds the work per request
SHA256_HEX = 64
# The caller of a public route; services see a role that no rule allows anything.
ANONYMOUS = Identity(subject="anonymous", role="anonymous")


class AuthSettings(DependencyProvider):
    """Checks the credentials configuration when the gateway starts, so a missing or
    weak ``JWT_SECRET`` or a malformed ``API_KEYS`` stops it instead of failing later.
    ``self.auth`` in a worker is the process's :class:`~yilin.tokens.VerifiedTokens`."""

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        """A weak or missing ``JWT_SECRET`` stops the gateway before it starts."""
        signing_key(config)

    def setup(self) -> None:
        config = self.container.config
        signing_key(config)
        settings = OidcSettings.from_config(config)
        oidc = OidcVerifier(settings, PERSON_ROLES) if settings else None
        self.tokens = VerifiedTokens(config, roles=PERSON_ROLES, oidc=oidc)
        keys = config.get("API_KEYS") or {}
        if not isinstance(keys, dict):
            raise RuntimeError("API_KEYS must map SHA-256 hashes of keys to service identities")
        for digest, account in keys.items():
            if len(str(digest)) != SHA256_HEX or any(c not in "0123456789abcdefABCDEF" for c in str(digest)):
                raise RuntimeError("API_KEYS holds SHA-256 hashes (64 hex digits) of keys, never the keys")
            if not isinstance(account, (str, dict)) or isinstance(account, dict) and "subject" not in account:
                raise RuntimeError("each API_KEYS entry names a service identity: a name or {subject, role}")

    def get_dependency(self, worker_ctx: Any) -> VerifiedTokens:
        return self.tokens


def authenticate(request: Request, config: Mapping[str, Any], tokens: VerifiedTokens | None = None) -> Identity:
    """The caller of ``request``; raises :class:`yilin.errors.Unauthenticated` when the
    credentials are missing or wrong. Bearer tokens go through ``tokens`` when given."""
    api_key = request.headers.get(API_KEY_HEADER)
    authorization = request.headers.get("Authorization")
    if api_key is not None and authorization is not None:
        raise Unauthenticated("send either a bearer token or an API key, not both")
    if api_key is not None:
        if not api_key or len(api_key) > MAX_CREDENTIAL_LENGTH:
            raise Unauthenticated("the API key is not valid")
        return verify_api_key(config, api_key, roles=ROLES)
    if not authorization:
        raise Unauthenticated("authentication required: send Authorization: Bearer <token>")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_CREDENTIAL_LENGTH:
        raise Unauthenticated("authentication required: send Authorization: Bearer <token>")
    return tokens.verify(token) if tokens is not None else verify_token(config, token, roles=PERSON_ROLES)


def authorise(identity: Identity, roles: tuple[str, ...] | None) -> bool:
    """Whether ``identity`` may use a route open to ``roles`` (``None``: any caller)."""
    return roles is None or identity.role in roles
