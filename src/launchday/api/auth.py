"""Who is calling: customers by the brand's JWT, admins by the admin key."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from launchday.api.errors import ApiError

# A customer id is the token's `sub`; keep it to something an index and a log can hold.
MAX_CUSTOMER_ID = 128
# How many verified tokens to remember (a few tens of MB at most); then start afresh.
VERIFIED_TOKENS_KEPT = 200_000


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: a customer (`customer` set) or the admin."""

    customer: str | None
    admin: bool = False


def mint_customer_token(secret: bytes, customer: str, now: datetime, ttl: timedelta) -> str:
    """A signed HS256 token for `customer`, valid for `ttl` from `now`."""
    claims = {"sub": customer, "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
    return jwt.encode(claims, secret, algorithm="HS256")


class Authenticator:
    """Checks bearer credentials against the admin key and the customer-token secret."""

    def __init__(self, secret: bytes, admin_key: str) -> None:
        self._secret = secret
        self._admin_key = admin_key.encode()
        # Tokens already verified, by their exact text: a waiting browser polls with the
        # same token many times, and an HMAC check costs more than the answer does.
        self._verified: dict[str, tuple[str, float]] = {}

    def caller(self, authorization: str | None) -> Caller:
        """The caller named by an `Authorization` header, or 401."""
        if not authorization:
            raise ApiError("unauthenticated", "send Authorization: Bearer <token>")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise ApiError("unauthenticated", "use the Bearer scheme")
        if hmac.compare_digest(credential.encode(), self._admin_key):
            return Caller(customer=None, admin=True)
        known = self._verified.get(credential)
        if known is not None and time.time() < known[1]:
            return Caller(customer=known[0])
        try:
            claims = jwt.decode(
                credential,
                self._secret,
                algorithms=["HS256"],
                options={"require": ["sub", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise ApiError("unauthenticated", "the token has expired") from None
        except jwt.PyJWTError:
            raise ApiError("unauthenticated", "the token is not valid") from None
        customer = claims["sub"]
        if not isinstance(customer, str) or not 0 < len(customer) <= MAX_CUSTOMER_ID:
            raise ApiError("unauthenticated", "the token's sub must be a customer id")
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[credential] = (customer, float(claims["exp"]))
        return Caller(customer=customer)

    def customer(self, authorization: str | None) -> str:
        """The customer calling, or 401/403 (the admin key acts for no customer)."""
        caller = self.caller(authorization)
        if caller.customer is None:
            raise ApiError("forbidden", "this call needs a customer token, not the admin key")
        return caller.customer

    def admin(self, authorization: str | None) -> None:
        """Pass for the admin key; 401 without credentials, 403 for a customer."""
        if not self.caller(authorization).admin:
            raise ApiError("forbidden", "this call needs the admin key")
