"""Personal data at rest: identifiers such as ID and phone numbers are stored encrypted, looked up by a
keyed hash, and shown only masked. The key comes from configuration (``PII_KEY``; during a
rotation ``PII_PREVIOUS_KEYS`` still decrypt).

Stored formats, all read by :meth:`PersonalData.decrypt`:

- ``<key id>:v2:<base64url of nonce, ciphertext and tag>``: AES-256-GCM with a random
  96-bit nonce (what :meth:`PersonalData.encrypt` writes; about a sixth of Fernet's CPU);
- ``<key id>:<Fernet token>``: Fernet (AES-128-CBC and HMAC-SHA256), written before;
- ``<Fernet token>``: Fernet from before key ids, tried against every key.

A Fernet token is base64url (no ``:``) and starts ``gAAAA``, so the ``v2:`` marker never
reads as one. ``yilin pii rotate`` rewrites Fernet values in the current format, under the
current key as well."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nameko.extensions import DependencyProvider

from yilin.environment import require_secret

PHONE_NUMBER = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers: 13x–19x
AEAD = "v2"  # the format marker of AES-GCM values, after the key id
NONCE = 12  # bytes: GCM's 96-bit nonce, random per value
# Bound to every AES-GCM value: a token of this format and purpose, nothing else, decrypts.
ASSOCIATED = b"yilin-pii-v2"

__all__ = ["InvalidToken", "PersonalData", "mask_phone", "personal_data"]  # InvalidToken: what decrypt raises


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    return value[:3] + "****" + value[-4:]


class _Key:
    """The keys derived from one secret: encryption (AES-GCM, and Fernet to read older
    values), fingerprints, and a short id that prefixes what it encrypts."""

    def __init__(self, secret: str) -> None:
        material = hashlib.sha256(secret.encode()).digest()
        self.id = hashlib.sha256(b"yilin-pii-id" + material).hexdigest()[:8]
        self.hash_key = hashlib.sha256(b"yilin-pii-hash" + material).digest()
        secret_key = hashlib.sha256(b"yilin-pii-enc" + material).digest()
        self.fernet = Fernet(base64.urlsafe_b64encode(secret_key))
        self.signing_key, self.encryption_key = secret_key[:16], secret_key[16:]  # as Fernet splits it
        self.aead = AESGCM(hashlib.sha256(b"yilin-pii-aead" + material).digest())  # its own 256-bit key
        self.prefix = f"{self.id}:{AEAD}:"

    def seal(self, values: Sequence[str]) -> list[str]:
        """AES-GCM tokens of ``values``, each with its own random nonce."""
        nonces = os.urandom(NONCE * len(values))
        encrypt, prefix = self.aead.encrypt, self.prefix
        return [
            prefix + base64.urlsafe_b64encode(nonce + encrypt(nonce, value.encode(), ASSOCIATED)).decode()
            for nonce, value in zip((nonces[i : i + NONCE] for i in range(0, len(nonces), NONCE)), values)
        ]

    def open(self, body: str) -> str:
        """The value of an AES-GCM token's body (after ``<id>:v2:``)."""
        try:
            raw = base64.urlsafe_b64decode(body)
            return self.aead.decrypt(raw[:NONCE], raw[NONCE:], ASSOCIATED).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:  # ValueError: too short for a nonce
            raise InvalidToken from exc


class PersonalData:
    """Encrypts, decrypts and hashes personal identifiers with keys derived from one secret.

    Rotation: ``previous`` secrets still decrypt (and their fingerprints still find a
    duplicate) while ``yilin pii rotate`` re-encrypts every value with the current one and
    recomputes its fingerprints; values written before key ids existed carry none and are
    tried against every key."""

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        self._current = _Key(secret)
        self._previous = [_Key(s) for s in previous if s and s != secret]
        self._by_id = {k.id: k for k in (*self._previous, self._current)}
        self._any = MultiFernet([k.fernet for k in (self._current, *self._previous)])

    @property
    def key_id(self) -> str:
        """The id of the key that encrypts (the prefix of every value it writes)."""
        return self._current.id

    @property
    def rotating(self) -> bool:
        """Whether previous keys are still readable (a rotation under way)."""
        return bool(self._previous)

    def fingerprint(self, value: str) -> str:
        """A keyed hash for de-duplication; useless without the key. The caller gives the
        value in its canonical form (two spellings of one number must hash alike)."""
        return hmac.new(self._current.hash_key, value.encode(), hashlib.sha256).hexdigest()

    def fingerprints(self, value: str) -> list[str]:
        """``value``'s fingerprint under the current key, then under each previous one:
        during a rotation a duplicate may still carry an old one."""
        return [
            hmac.new(k.hash_key, value.encode(), hashlib.sha256).hexdigest() for k in (self._current, *self._previous)
        ]

    def encrypt(self, value: str) -> str:
        """Authenticated encryption of ``value`` under the current key (AES-GCM),
        prefixed with the key's id and the format's marker."""
        return self._current.seal([value])[0]

    def encrypt_many(self, values: Sequence[str]) -> list[str]:
        """:meth:`encrypt` of each value, for a batch. ``cryptography``'s AES-GCM, a
        standard AEAD (about 1 µs a value against Fernet's 7), not a home-made mode."""
        return self._current.seal(values)

    def decrypt(self, token: str) -> str:
        """The plain value behind ``encrypt``'s output (or an older Fernet value), under
        whichever known key wrote it. Raises ``InvalidToken`` if no known key reads it."""
        key_id, sep, body = token.partition(":")
        key = self._by_id.get(key_id) if sep else None
        if key is not None:
            marker, aead, sealed = body.partition(":")
            if aead and marker == AEAD:
                return key.open(sealed)
            return key.fernet.decrypt(body.encode()).decode()
        return self._any.decrypt((body if sep else token).encode()).decode()

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is already encrypted under the current key in the current
        format (``yilin pii rotate`` rewrites the others)."""
        return token.startswith(self._current.prefix)


def previous_secrets(config: Mapping[str, Any]) -> list[str]:
    """``PII_PREVIOUS_KEYS``: comma-separated secrets still readable during a rotation."""
    return [s.strip() for s in str(config.get("PII_PREVIOUS_KEYS") or "").split(",") if s.strip()]


def personal_data(config: Mapping[str, Any]) -> PersonalData:
    """The :class:`PersonalData` of ``config``: ``PII_KEY`` encrypts, ``PII_PREVIOUS_KEYS`` still decrypt."""
    return PersonalData(require_secret(config, "PII_KEY").decode(), previous_secrets(config))


class PersonalDataKey(DependencyProvider):
    """``self.pii`` in a worker: a :class:`PersonalData` keyed from ``PII_KEY``."""

    def check_configuration(self, config: Any) -> None:
        """A weak or missing ``PII_KEY`` stops the service before it starts."""
        require_secret(config, "PII_KEY")

    def setup(self) -> None:
        self.personal_data = personal_data(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> PersonalData:
        return self.personal_data
