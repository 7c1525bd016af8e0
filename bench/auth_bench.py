"""What checking a customer's token costs, in process: launchday's own HS256 tokens and
RS256 tokens of a brand's identity provider (checked against its JWKS), each the first
time the server sees it and again once remembered (a verified token is not verified
again until it expires).

    .venv/bin/python bench/auth_bench.py [--tokens N] [--repeats R]

Times `Authenticator.caller` alone (no HTTP, no database): N distinct tokens of each
kind, checked once (first sight) and then once more (remembered), R times over fresh
authenticators; prints the median microseconds per token.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console
from rich.table import Table

from launchday.api.auth import Authenticator, mint_customer_token
from launchday.identity.issued_tokens import IssuedTokens
from launchday.identity.issuers import parse_issuers
from launchday.identity.jwks import signing_keys

SECRET = b"bench-secret-0123456789abcdef-0123456789"
ISS = "https://id.bench.example"


def rs256_tokens(count: int) -> tuple[IssuedTokens, list[str]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    folder = Path(tempfile.mkdtemp(prefix="launchday-auth-bench-"))
    (folder / "jwks.json").write_text(json.dumps(document))
    issuers = parse_issuers(
        f'[[issuer]]\nname = "b"\niss = "{ISS}"\naudience = "launchday"\n'
        f'jwks_file = "{folder / "jwks.json"}"\nalgorithms = ["RS256"]\n'
    )
    issued = IssuedTokens(issuers)
    keys = issued.key_sets[ISS]
    keys.keys = signing_keys(document, ("RS256",))  # as read at the server's start
    keys.read_at = time.monotonic()
    now = int(time.time())
    tokens = [
        jwt.encode(
            {"sub": f"b-{n}", "iss": ISS, "aud": "launchday", "iat": now, "exp": now + 3600},
            key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        for n in range(count)
    ]
    return issued, tokens


def timed(check: Callable[[str], object], tokens: list[str]) -> float:
    """Microseconds per token of `check` over `tokens`."""
    started = time.perf_counter()
    for token in tokens:
        check("Bearer " + token)
    return (time.perf_counter() - started) / len(tokens) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    issued, rs256 = rs256_tokens(args.tokens)
    now = datetime.now(UTC)
    hs256 = [
        mint_customer_token(SECRET, f"b-{n}", now, timedelta(hours=1)) for n in range(args.tokens)
    ]
    figures: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for kind, tokens in (("HS256 (launchday's own)", hs256), ("RS256 (JWKS)", rs256)):
            auth = Authenticator(SECRET, "admin-key", issued)
            figures.setdefault(f"{kind}, first sight", []).append(timed(auth.caller, tokens))
            figures.setdefault(f"{kind}, remembered", []).append(timed(auth.caller, tokens))
    table = Table(title=f"checking a customer token: {args.tokens:,} tokens, {args.repeats} runs")
    table.add_column("token")
    table.add_column("median us", justify="right")
    table.add_column("runs", justify="right")
    for name, runs in figures.items():
        table.add_row(
            name, f"{statistics.median(runs):.2f}", ", ".join(f"{run:.2f}" for run in runs)
        )
    Console().print(table)


if __name__ == "__main__":
    main()
