"""The common form of an issuer's RS256 token, checked as PyJWT would at a fraction of its
cost (its own reading of the token costs more than the RSA check itself). Anything not
of that form, or failing any check, is left to PyJWT, which then accepts or refuses it:
this check only ever accepts what PyJWT accepts (tests/test_identity_fast.py compares
them token by token).

The form: a header of `alg` RS256 (the key's algorithm, and one the issuer signs with),
`kid` and at most `typ: JWT`; canonical base64url segments; claims among the customer
claim, iss, aud, exp, iat, nbf and jti, with iss the issuer's, aud (a string or a list of
strings) naming one of its audiences, integer times, exp not past and iat and nbf not
ahead, within the leeway, and a customer id of 1 to 128 characters.
"""

from __future__ import annotations

import binascii
import time
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256

from launchday.identity import MAX_CUSTOMER_ID
from launchday.identity.issuers import Issuer

_decode = msgspec.json.Decoder(dict[str, Any]).decode
_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti"})
_HEADER_KEYS = frozenset({"alg", "kid", "typ"})
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def plain_rs256(
    token: str, issuer: Issuer, public_key: Any, algorithm: str
) -> tuple[str, float] | None:
    """(customer, exp + leeway) of a valid token of the plain form; None otherwise."""
    if algorithm != "RS256" or "RS256" not in issuer.algorithms:
        return None
    if not isinstance(public_key, RSAPublicKey):
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header_text, payload_text, signature_text = parts
    try:
        header = _decode(_segment(header_text))
        claims = _decode(_segment(payload_text))
        signature = _segment(signature_text)
    except (ValueError, msgspec.DecodeError):
        return None
    if (
        not header.keys() <= _HEADER_KEYS
        or header.get("alg") != "RS256"
        or header.get("typ", "JWT") != "JWT"
        or not isinstance(header.get("kid", ""), str)
    ):
        return None
    try:
        public_key.verify(signature, f"{header_text}.{payload_text}".encode(), PKCS1v15(), SHA256())
    except InvalidSignature:
        return None
    return _plain_claims(claims, issuer)


def _plain_claims(claims: dict[str, Any], issuer: Issuer) -> tuple[str, float] | None:
    claim = issuer.customer_claim
    if not claims.keys() <= _CLAIMS | {claim} or claim in _CLAIMS:
        return None
    customer, iss, aud = claims.get(claim), claims.get("iss"), claims.get("aud")
    exp, iat, nbf = claims.get("exp"), claims.get("iat", 0), claims.get("nbf", 0)
    if type(customer) is not str or not 0 < len(customer) <= MAX_CUSTOMER_ID:
        return None
    if type(iss) is not str or iss != issuer.iss:
        return None
    audiences = [aud] if type(aud) is str else aud
    if (
        type(audiences) is not list
        or not audiences
        or not all(type(a) is str for a in audiences)
        or not set(audiences) & set(issuer.audience)
    ):
        return None
    if type(exp) is not int or type(iat) is not int or type(nbf) is not int:
        return None
    if "jti" in claims and type(claims["jti"]) is not str:
        return None
    now, leeway = time.time(), issuer.leeway_seconds
    if exp <= now - leeway or iat > now + leeway or nbf > now + leeway:
        return None
    return customer, exp + leeway


def _segment(text: str) -> bytes:
    """A canonical base64url segment's bytes (ValueError for any other form)."""
    raw = binascii.a2b_base64((text + "=" * (-len(text) % 4)).encode().translate(_FROM_URLSAFE))
    canonical = binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=")
    if canonical != text.encode():
        raise ValueError("not canonical base64url")
    return raw
