"""Admission tokens: proof that the waiting room admitted this customer to this launch.

A token is a JWT (HS256) signed with a key derived from `LAUNCHDAY_SECRET`, never the
secret itself: a customer token can then never pass as an admission token, nor the
reverse. It names the customer (`sub`), the launch and the ticket, and expires
`token_ttl_seconds` after admission on the launch's clock (`exp` in launch time, so
rehearsals at accelerated time expire tokens at the accelerated rate).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

import jwt

from launchday.domain.errors import AdmissionRequired

_KEY_LABEL = b"launchday admission token v1"


class AdmissionTokens:
    """Signs and checks admission tokens.

    The secret may come later than the tokens' users are made (`use_secret`): a
    database keeps it when the environment does not, and the store is read only once
    the server starts.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._key = b""
        self._retiring: tuple[bytes, ...] = ()  # keys of rotated-out secrets, still checking
        if secret is not None:
            self.use_secret(secret)

    def use_secret(self, secret: bytes) -> None:
        """Sign and check with a key derived from `secret` from now on."""
        self._key = _derived(secret)
        self._retiring = ()

    def use_secrets(self, signing: bytes, also_verifying: tuple[bytes, ...]) -> None:
        """Sign with a key derived from `signing`; check with it and, while they retire,
        with those of the secrets it replaced (launchday.domain.token_secrets)."""
        self.use_secret(signing)
        self._retiring = tuple(_derived(secret) for secret in also_verifying)

    def mint(self, customer: str, launch: str, ticket: str, expires_at: datetime) -> str:
        """A token admitting `customer` to `launch` until `expires_at` (launch time)."""
        assert self._key, "no secret yet: the server has not started"
        claims = {
            "sub": customer,
            "launch": launch,
            "ticket": ticket,
            "exp": expires_at.timestamp(),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def check(self, token: str | None, customer: str, launch: str, at: datetime) -> None:
        """Pass if `token` admits `customer` to `launch` at launch time `at`; else 403."""
        if not token:
            raise AdmissionRequired(
                "this launch admits buyers through its waiting room: send Admission-Token",
                field="Admission-Token",
            )
        claims = self._claims(token)
        if claims["sub"] != customer or claims["launch"] != launch:
            raise AdmissionRequired(
                "the admission token is for another customer or launch", "Admission-Token"
            )
        if not isinstance(claims["exp"], int | float) or at.timestamp() >= claims["exp"]:
            raise AdmissionRequired("the admission token has expired", "Admission-Token")

    def _claims(self, token: str) -> dict[str, Any]:
        keys = (self._key, *self._retiring)
        for index, key in enumerate(keys):
            try:
                # `exp` is launch time, which PyJWT cannot know: the caller checks it.
                return jwt.decode(
                    token,
                    key,
                    algorithms=["HS256"],
                    options={"require": ["sub", "launch", "exp"], "verify_exp": False},
                )
            except jwt.InvalidSignatureError:
                if index + 1 < len(keys):
                    continue
            except jwt.PyJWTError:
                pass
            break
        raise AdmissionRequired("the admission token is not valid", "Admission-Token")


def _derived(secret: bytes) -> bytes:
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()
