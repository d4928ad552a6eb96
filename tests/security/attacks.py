"""Forged and broken bearer tokens (RFC 8725 §2 attacks), built by hand where PyJWT
would refuse to build them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from typing import Any

import jwt

from yilin.tokens import AUDIENCE, ISSUER


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], secret: str, digest: Any = hashlib.sha256) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "attacker", "role": "operator", "iat": now, "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def attacks(secret: str, valid: str) -> dict[str, str]:
    """Each token here must be refused with 401."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)  # HS384/HS512 under a 44-byte key
        return _attacks(secret, valid)


def _attacks(secret: str, valid: str) -> dict[str, str]:
    now = int(time.time())
    head, body, sig = valid.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    escalated = b64(json.dumps({**payload, "role": "operator", "sub": "someone-else"}).encode())
    flipped = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
    return {
        "alg none": f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims()).encode())}.",
        "alg None (capitalised)": f"{b64(json.dumps({'alg': 'None'}).encode())}.{b64(json.dumps(claims()).encode())}.",
        "RS256 header, HMAC signature with the secret": hand_made({"alg": "RS256", "typ": "JWT"}, claims(), secret),
        "HS384 with the secret": jwt.encode(claims(), secret, algorithm="HS384"),
        "HS512 with the secret": jwt.encode(claims(), secret, algorithm="HS512"),
        "expired": jwt.encode(claims(exp=now - 3600, iat=now - 7200), secret, algorithm="HS256"),
        "wrong audience": jwt.encode(claims(aud="another-api"), secret, algorithm="HS256"),
        "wrong issuer": jwt.encode(claims(iss="evil"), secret, algorithm="HS256"),
        "missing exp": jwt.encode(claims(exp=None), secret, algorithm="HS256"),
        "missing aud": jwt.encode(claims(aud=None), secret, algorithm="HS256"),
        "missing iss": jwt.encode(claims(iss=None), secret, algorithm="HS256"),
        "missing sub": jwt.encode(claims(sub=None), secret, algorithm="HS256"),
        "not yet valid": jwt.encode(claims(nbf=now + 3600), secret, algorithm="HS256"),
        "unknown role": jwt.encode(claims(role="superuser"), secret, algorithm="HS256"),
        "service role in a person's token": jwt.encode(claims(role="service"), secret, algorithm="HS256"),
        "signed with another secret": jwt.encode(claims(), "another-secret-" + "y" * 32, algorithm="HS256"),
        "tampered signature": f"{head}.{body}.{flipped}",
        "tampered payload (role escalation)": f"{head}.{escalated}.{sig}",
        "signature stripped": f"{head}.{body}.",
        "garbage": "not.a.token",
        "audience list without ours": jwt.encode(claims(aud=["x", "y"]), secret, algorithm="HS256"),
    }
