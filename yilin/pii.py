"""Personal data at rest: identifiers such as ID and phone numbers are stored encrypted, looked up by a
keyed hash, and shown only masked. The key comes from configuration (``PII_KEY``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from cryptography.fernet import Fernet
from nameko.extensions import DependencyProvider

from yilin.environment import require_secret

PHONE_NUMBER = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers: 13x–19x


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    return value[:3] + "****" + value[-4:]


class PersonalData:
    """Encrypts, decrypts and hashes personal identifiers with keys derived from one secret."""

    def __init__(self, secret: str) -> None:
        material = hashlib.sha256(secret.encode()).digest()
        self._hash_key = hashlib.sha256(b"yilin-pii-hash" + material).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"yilin-pii-enc" + material).digest()))

    def fingerprint(self, value: str) -> str:
        """A keyed hash for de-duplication; useless without the key. The caller gives the
        value in its canonical form (two spellings of one number must hash alike)."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, value: str) -> str:
        """Authenticated encryption of ``value``."""
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plain value behind ``encrypt``'s output."""
        return self._fernet.decrypt(token.encode()).decode()


class PersonalDataKey(DependencyProvider):
    """``self.pii`` in a worker: a :class:`PersonalData` keyed from ``PII_KEY``."""

    def check_configuration(self, config: Any) -> None:
        """A weak or missing ``PII_KEY`` stops the service before it starts."""
        require_secret(config, "PII_KEY")

    def setup(self) -> None:
        self.personal_data = PersonalData(require_secret(self.container.config, "PII_KEY").decode())

    def get_dependency(self, worker_ctx: Any) -> PersonalData:
        return self.personal_data
