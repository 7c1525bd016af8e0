"""The fast check of plain customer tokens accepts and refuses exactly what PyJWT does."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from launchday.api.auth import Authenticator
from launchday.http.errors import HttpError
from tests.support import SECRET
from tests.test_auth_cache import customer_of

NOW = int(time.time())
OTHER_SECRET = b"another-secret-0123456789abcdef-012345"


def outcome(auth: Authenticator, token: str) -> str:
    try:
        return f"ok {customer_of(auth, token)}"
    except HttpError as error:
        return f"{error.code}: {error.message}"


def signed(claims: dict[str, Any], *, secret: bytes = SECRET, **headers: Any) -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers or None)


TOKENS = {
    "plain": signed({"sub": "c-1", "iat": NOW, "exp": NOW + 3600}),
    "no iat": signed({"sub": "c-1", "exp": NOW + 3600}),
    "expired": signed({"sub": "c-1", "iat": NOW - 7200, "exp": NOW - 3600}),
    "issued in the future": signed({"sub": "c-1", "iat": NOW + 3600, "exp": NOW + 7200}),
    "float exp": signed({"sub": "c-1", "exp": NOW + 3600.5}),
    "string exp": signed({"sub": "c-1", "exp": str(NOW + 3600)}),
    "no exp": signed({"sub": "c-1"}),
    "no sub": signed({"exp": NOW + 3600}),
    "numeric sub": signed({"sub": 7, "exp": NOW + 3600}),
    "empty sub": signed({"sub": "", "exp": NOW + 3600}),
    "long sub": signed({"sub": "c" * 129, "exp": NOW + 3600}),
    "audience": signed({"sub": "c-1", "exp": NOW + 3600, "aud": "shop"}),
    "not yet valid": signed({"sub": "c-1", "exp": NOW + 7200, "nbf": NOW + 3600}),
    "extra claim": signed({"sub": "c-1", "exp": NOW + 3600, "name": "Li"}),
    "other key": signed({"sub": "c-1", "exp": NOW + 3600}, secret=OTHER_SECRET),
    "kid header": signed({"sub": "c-1", "exp": NOW + 3600}, kid="k1"),
    "alg none": jwt.encode({"sub": "c-1", "exp": NOW + 3600}, None, algorithm="none"),
    "two parts": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjLTEifQ",
    "garbage": "not-a-token",
}


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_the_fast_check_agrees_with_pyjwt(name: str) -> None:
    fast = Authenticator(SECRET, "admin-key")
    slow = Authenticator(SECRET, "admin-key")
    slow._fast = False  # PyJWT alone
    token = TOKENS[name]
    assert outcome(fast, token) == outcome(slow, token)


def test_a_tampered_payload_or_signature_is_refused() -> None:
    auth = Authenticator(SECRET, "admin-key")
    head, payload, signature = TOKENS["plain"].split(".")
    other_payload = TOKENS["no iat"].split(".")[1]
    for token in (f"{head}.{other_payload}.{signature}", f"{head}.{payload}.{signature}x"):
        assert outcome(auth, token) == "unauthenticated: the token is not valid"
