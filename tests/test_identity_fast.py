"""The fast check of an issuer's plain RS256 tokens accepts and refuses exactly what
PyJWT does: each token below is checked both ways, with the same outcome (the customer
and until when accepted, the reason when refused)."""

from __future__ import annotations

import base64
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from launchday.identity.issued_tokens import IssuedTokens, TokenRefused, Verified
from launchday.identity.issuers import parse_issuers
from launchday.identity.jwks import signing_keys

ISS = "https://id.brand.example"
NOW = int(time.time())
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_JWK = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
ISSUERS = parse_issuers(
    f'[[issuer]]\nname = "brand"\niss = "{ISS}"\naudience = ["launchday", "shop"]\n'
    'jwks_url = "https://id.brand.example/jwks"\nalgorithms = ["RS256", "PS256"]\n'
    "leeway_seconds = 30\n"
)


def made(fast: bool) -> IssuedTokens:
    issued = IssuedTokens(ISSUERS, fast=fast)
    keys = issued.key_sets[ISS]
    document = {"keys": [{**PUBLIC_JWK, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    keys.keys = signing_keys(document, ("RS256", "PS256"))
    keys.read_at = time.monotonic()
    return issued


def signed(claims: dict[str, Any], *, key: Any = KEY, alg: str = "RS256", **headers: Any) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": "k1", **headers})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


BASE = {"sub": "c-1", "iss": ISS, "aud": "launchday", "iat": NOW, "exp": NOW + 3600}
PEM = KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def hs256_over_the_public_key() -> str:
    """The issuer's public key used as an HMAC secret, as an attacker would sign."""
    head = b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    signing_input = f"{head}.{b64(json.dumps(BASE).encode())}"
    return f"{signing_input}.{b64(hmac.new(PEM, signing_input.encode(), 'sha256').digest())}"


def claims(**changes: Any) -> dict[str, Any]:
    out = {**BASE, **changes}
    return {k: v for k, v in out.items() if v is not None}


def changed_first_character(text: str) -> str:
    """The text with its first character swapped for another. The first, not the last:
    a base64url signature's last character carries padding bits, so changing it can
    decode to the same bytes."""
    return ("B" if text[0] == "A" else "A") + text[1:]


def tampered(token: str, part: int, text: str) -> str:
    parts = token.split(".")
    parts[part] = text
    return ".".join(parts)


PLAIN = signed(BASE)
TOKENS = {
    "plain": PLAIN,
    "audience list": signed(claims(aud=["other", "shop"])),
    "audience list without ours": signed(claims(aud=["other"])),
    "empty audience list": signed(claims(aud=[])),
    "numeric audience": signed(claims(aud=7)),
    "wrong iss": signed(claims(iss="https://evil.example")),
    "no aud": signed(claims(aud=None)),
    "no exp": signed(claims(exp=None)),
    "float exp": signed(claims(exp=NOW + 3600.5)),
    "string exp": signed(claims(exp=str(NOW + 3600))),
    "expired beyond the leeway": signed(claims(exp=NOW - 31)),
    "expired within the leeway": signed(claims(exp=NOW - 20)),
    "issued ahead beyond the leeway": signed(claims(iat=NOW + 60)),
    "issued ahead within the leeway": signed(claims(iat=NOW + 20)),
    "float iat": signed(claims(iat=NOW + 0.5)),
    "not yet valid": signed(claims(nbf=NOW + 60)),
    "nbf within the leeway": signed(claims(nbf=NOW + 20)),
    "string jti": signed(claims(jti="abc")),
    "numeric jti": signed(claims(jti=7)),
    "extra claim": signed(claims(name="Li")),
    "numeric sub": signed(claims(sub=7)),
    "empty sub": signed(claims(sub="")),
    "long sub": signed(claims(sub="c" * 129)),
    "other typ": signed(BASE, typ="at+jwt"),
    "extra header": signed(BASE, cty="JWT"),
    "another private key": signed(BASE, key=OTHER),
    "PS256 with the RS256 key": signed(BASE, alg="PS256"),
    "HS256 over the public key": hs256_over_the_public_key(),
    "tampered payload": tampered(PLAIN, 1, b64(json.dumps(claims(sub="c-2")).encode())),
    "tampered signature": tampered(PLAIN, 2, changed_first_character(PLAIN.split(".")[2])),
    "signature with padding": PLAIN + "==",
    "four parts": PLAIN + ".x",
    "payload not an object": signed(BASE).split(".")[0] + "." + b64(b"[1]") + ".x",
}


def outcome(issued: IssuedTokens, token: str) -> str:
    keys = issued.key_sets[ISS]
    try:
        verified = issued.verify(token, keys)
    except TokenRefused as refused:
        return f"refused: {refused}"
    assert isinstance(verified, Verified), verified
    return f"ok {verified.customer} until {verified.until}"


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_the_fast_check_agrees_with_pyjwt(name: str) -> None:
    token = TOKENS[name]
    assert outcome(made(fast=True), token) == outcome(made(fast=False), token)


def test_a_plain_token_is_accepted_without_pyjwt(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pyjwt(*_: Any, **__: Any) -> Any:
        raise AssertionError("PyJWT was asked")

    fast = made(fast=True)
    monkeypatch.setattr(jwt, "decode", no_pyjwt)
    assert outcome(fast, PLAIN) == f"ok c-1 until {float(NOW + 3600 + 30)}"
    assert outcome(fast, TOKENS["audience list"]).startswith("ok c-1")
