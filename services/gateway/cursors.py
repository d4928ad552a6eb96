"""Opaque, signed pagination cursors.

A service pages by the last row id it returned. The gateway hands clients that id
sealed: base64url of the id followed by an HMAC of the id and the list's route, so a
client can neither forge a cursor nor carry one from one list to another. A cursor
that does not verify is a 400 problem naming ``cursor``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any, Mapping

from services.gateway.problems import InvalidCursor
from yilin.identity import signing_key

MAC_BYTES = 16
MAX_LENGTH = 256  # the longest cursor the API accepts (a sealed id is far shorter)


def cursor_key(config: Mapping[str, Any]) -> bytes:
    """``CURSOR_KEY`` from the configuration, else a key derived from the gateway's own
    identity key (``IDENTITY_KEYS[gateway]``)."""
    configured = str(config.get("CURSOR_KEY") or "")
    if configured:
        return configured.encode()
    own = signing_key(config, "gateway").private_bytes_raw()
    return hmac.new(own, b"yilin pagination cursors", hashlib.sha256).digest()


def _mac(key: bytes, scope: str, raw: bytes) -> bytes:
    return hmac.new(key, scope.encode() + b"\0" + raw, hashlib.sha256).digest()[:MAC_BYTES]


def seal(key: bytes, scope: str, raw: str) -> str:
    """The opaque cursor of the service's cursor ``raw`` for the list ``scope``."""
    data = raw.encode()
    return base64.urlsafe_b64encode(data + _mac(key, scope, data)).rstrip(b"=").decode()


def unseal(key: bytes, scope: str, cursor: str) -> str:
    """The service's cursor inside ``cursor``; :class:`InvalidCursor` if it is not one
    this gateway issued for ``scope``."""
    refused = InvalidCursor(
        "the cursor is not one this list issued; use next_cursor as returned", {"cursor": ["invalid cursor"]}
    )
    if len(cursor) > MAX_LENGTH:
        raise refused
    try:
        sealed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    data, mac = sealed[:-MAC_BYTES], sealed[-MAC_BYTES:]
    if not data or not hmac.compare_digest(mac, _mac(key, scope, data)):
        raise refused
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise refused from None
