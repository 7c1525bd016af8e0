"""A brand's identity provider for scenario (c5): an RSA key made here, its JWKS in a
file, the issuers' file naming it (LAUNCHDAY_ISSUERS), and RS256 customer tokens for
customers b-<n>, minted before any server runs. RSA signing is slow (about a
millisecond a token), so the tokens are made on both cores and only as many as the
scenario's runs use."""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.tokens import TOKEN_TTL, customer

ISS = "https://id.bench.example"
AUDIENCE = "launchday"
KID = "bench-1"
MINT_CHUNK = 5_000


def _mint_range(pem: bytes, issued: int, start: int, stop: int) -> str:
    key = serialization.load_pem_private_key(pem, password=None)
    expires = issued + int(TOKEN_TTL.total_seconds())
    lines = []
    for n in range(start, stop):
        claims = {"sub": customer(n), "iss": ISS, "aud": AUDIENCE, "iat": issued, "exp": expires}
        lines.append(jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID}) + "\n")  # type: ignore[arg-type]
    return "".join(lines)


def brand_issuer(scratch: Path, tokens: Path, count: int) -> tuple[Path, float]:
    """The issuers' file for the server, after writing `count` RS256 tokens to `tokens`
    (line n for customer b-<n>); and the seconds minting took."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = scratch / "brand-jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}))
    issuers = scratch / "issuers.toml"
    issuers.write_text(
        f'[[issuer]]\nname = "bench"\niss = "{ISS}"\naudience = "{AUDIENCE}"\n'
        f'jwks_file = "{jwks}"\nalgorithms = ["RS256"]\n'
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    started = time.perf_counter()
    issued = int(time.time())
    starts = range(0, count, MINT_CHUNK)
    with ProcessPoolExecutor(max_workers=2) as pool:
        chunks = pool.map(
            _mint_range,
            *zip(*((pem, issued, s, min(s + MINT_CHUNK, count)) for s in starts), strict=True),
        )
        tokens.write_text("".join(chunks))
    return issuers, time.perf_counter() - started
