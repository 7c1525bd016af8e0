"""A brand's identity provider as the tests need one: signing keys made here (RSA, EC,
Ed25519), tokens signed with them, and its JWKS served over real loopback HTTP, with
the keys it publishes changed at will (a rotation) and its reads counted."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ISS = "https://id.brand.example"
AUDIENCE = "launchday"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    @classmethod
    def make(cls, kid: str, algorithm: str = "RS256") -> SigningKey:
        if algorithm.startswith(("RS", "PS")):
            private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif algorithm == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(algorithm)
        return cls(kid, algorithm, private)

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def token(
        self,
        customer: str,
        *,
        iss: str = ISS,
        aud: str = AUDIENCE,
        ttl: float = 3600,
        claim: str = "sub",
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {claim: customer, "iss": iss, "aud": aud, "iat": now, "exp": now + ttl, **extra}
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid})


@dataclass
class JwksServer:
    """The provider's JWKS endpoint: `published` is what it serves; `reads` counts GETs."""

    published: list[SigningKey]
    url: str = ""
    reads: int = 0
    down: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def document(self) -> bytes:
        with self._lock:
            self.reads += 1
            return json.dumps({"keys": [key.public_jwk() for key in self.published]}).encode()

    def publish(self, *keys: SigningKey) -> None:
        with self._lock:
            self.published = list(keys)


@contextmanager
def serving_jwks(*keys: SigningKey) -> Iterator[JwksServer]:
    jwks = JwksServer(list(keys))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if jwks.down:
                self.send_error(503)
                return
            body = jwks.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    jwks.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield jwks
    finally:
        server.shutdown()
        server.server_close()
