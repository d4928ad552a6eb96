"""Production identity: RS256/ES256 tokens from an OpenID Connect provider, here a
test issuer served over HTTP on localhost (discovery document and JWKS), verified by the
gateway. A token from it is accepted; after the provider rotates its keys, a token
signed with the withdrawn key is refused; audience, issuer, lifetime and algorithm
are enforced."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.harness import free_port


class Issuer:
    """A minimal OIDC provider: ``/.well-known/openid-configuration`` and ``/jwks``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keys: dict[str, tuple[str, Any]] = {}  # kid → (alg, private key)
        self.published: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    body = {"keys": [issuer.public_jwk(kid) for kid in issuer.published]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def new_key(self, alg: str) -> str:
        kid = f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if alg == "RS256"
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.keys[kid] = (alg, key)
        return kid

    def public_jwk(self, kid: str) -> dict[str, Any]:
        alg, key = self.keys[kid]
        jwk = json.loads((RSAAlgorithm if alg == "RS256" else ECAlgorithm).to_jwk(key.public_key()))
        return {**jwk, "kid": kid, "alg": alg, "use": "sig"}

    def token(self, kid: str, ttl: int = 300, **claims: Any) -> str:
        alg, key = self.keys[kid]
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": "yilin-district",
            "sub": "oidc-user-1",
            "role": "social_worker",
            "iat": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer() -> Any:
    served = Issuer()
    yield served
    served.close()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"


def test_tokens_of_a_jwks_issuer_are_accepted_and_a_rotated_out_key_refused(stack: Any, issuer: Issuer) -> None:
    first, ec_key = issuer.new_key("RS256"), issuer.new_key("ES256")
    issuer.published = [first, ec_key]
    s = stack(
        "registry",
        "gateway",
        OIDC_ISSUER=issuer.url,
        OIDC_AUDIENCE="yilin-district",
        OIDC_MAX_LIFETIME=3600,
        OIDC_JWKS_MIN_REFRESH=0.01,
    )
    url = f"{s.url}/api/v1/places"

    def status(token: str) -> int:
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code

    old_token = issuer.token(first)
    assert status(old_token) == 200  # RS256 from the provider
    assert status(issuer.token(ec_key, role="auditor", sub="auditor-9")) == 200  # ES256 too
    for refused in (
        issuer.token(first, aud="someone-else"),
        issuer.token(first, iss="http://127.0.0.1:1"),
        issuer.token(first, ttl=2 * 3600),  # longer than the maximum lifetime
        issuer.token(first, role="god"),
        issuer.token(first, exp=int(time.time()) - 600),
    ):
        assert status(refused) == 401
    unknown_kid = issuer.new_key("RS256")  # signed by a key the provider never published
    assert status(issuer.token(unknown_kid)) == 401

    second = issuer.new_key("RS256")
    issuer.published = [second]  # rotation: the first key is withdrawn
    time.sleep(0.05)
    assert status(issuer.token(second)) == 200  # the new key id makes the gateway fetch the new set
    assert status(old_token) == 401  # and the withdrawn key no longer verifies
    assert status(issuer.token(first)) == 401
