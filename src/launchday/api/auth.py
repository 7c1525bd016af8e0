"""Who is calling: customers by the brand's JWT, admins by the admin key."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
from datetime import datetime, timedelta
from typing import Any

import jwt
import msgspec

from launchday.http.errors import HttpError
from launchday.http.routing import Auth, Caller

# A customer id is the token's `sub`; keep it to something an index and a log can hold.
MAX_CUSTOMER_ID = 128
# How many verified tokens to remember (about 20 MB at most); then start afresh. A token
# of the plain form costs only a few microseconds to check again.
VERIFIED_TOKENS_KEPT = 50_000
# The protected headers PyJWT writes for HS256 (both key orders, compact JSON): a token
# with one of these takes the fast check below; any other goes through PyJWT.
_HS256_HEADERS = frozenset(
    {"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"}
)
# Claims the fast check understands; a token with any other claim (aud, nbf, ...) goes
# through PyJWT, which knows what each of them requires.
_PLAIN_CLAIMS = frozenset({"sub", "exp", "iat"})
_decode_claims = msgspec.json.Decoder(dict[str, Any]).decode
# base64url <-> base64, for binascii (base64.urlsafe_b64* are these plus Python layers).
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def mint_customer_token(secret: bytes, customer: str, now: datetime, ttl: timedelta) -> str:
    """A signed HS256 token for `customer`, valid for `ttl` from `now`."""
    claims = {"sub": customer, "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
    return jwt.encode(claims, secret, algorithm="HS256")


class Authenticator:
    """Checks bearer credentials against the admin key and the customer-token secret,
    for the route being called (`__call__`: the app's one place for it).

    The secret may come after the authenticator is made (`use_secret`): a database keeps
    it when the environment does not, and the store is read once the server starts.
    """

    def __init__(self, secret: bytes | None, admin_key: str) -> None:
        self._admin_key = admin_key.encode()
        # Tokens already verified, by their exact text: a waiting browser polls with the
        # same token many times, and an HMAC check costs more than the answer does.
        self._verified: dict[str, tuple[str, float]] = {}
        self._secret = b""
        self._fast = False
        self._hs256 = hmac.new(b"-", digestmod=hashlib.sha256)
        if secret is not None:
            self.use_secret(secret)

    def use_secret(self, secret: bytes) -> None:
        """Check customer tokens against `secret` from now on."""
        self._secret = secret
        self._fast = _pyjwt_accepts_key(secret)
        # Copied per token: one-shot hmac.digest() releases the GIL, and getting it back
        # from the writer thread can take a whole switch interval (5 ms).
        self._hs256 = hmac.new(secret, digestmod=hashlib.sha256)
        self._verified.clear()

    def __call__(self, auth: Auth, authorization: str | None) -> Caller:
        """The caller of a route whose auth is `auth`: 401 without valid credentials,
        403 for a caller the route does not let in."""
        caller = self.caller(authorization)
        if auth == "customer" and caller.customer is None:
            raise HttpError("forbidden", "this call needs a customer token, not the admin key")
        if auth == "admin" and not caller.admin:
            raise HttpError("forbidden", "this call needs the admin key")
        return caller

    def caller(self, authorization: str | None) -> Caller:
        """The caller named by an `Authorization` header, or 401."""
        if not authorization:
            raise HttpError("unauthenticated", "send Authorization: Bearer <token>")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise HttpError("unauthenticated", "use the Bearer scheme")
        if hmac.compare_digest(credential.encode(), self._admin_key):
            return Caller(customer=None, admin=True)
        if not self._secret:
            raise HttpError("unauthenticated", "the server is not ready for customer tokens")
        known = self._verified.get(credential)
        if known is not None and time.time() < known[1]:
            return Caller(customer=known[0])
        plain = self._plain_token(credential) if self._fast else None
        if plain is not None:
            self._remember(credential, *plain)
            return Caller(customer=plain[0])
        try:
            claims = jwt.decode(
                credential,
                self._secret,
                algorithms=["HS256"],
                options={"require": ["sub", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise HttpError("unauthenticated", "the token has expired") from None
        except jwt.PyJWTError:
            raise HttpError("unauthenticated", "the token is not valid") from None
        customer = claims["sub"]
        if not isinstance(customer, str) or not 0 < len(customer) <= MAX_CUSTOMER_ID:
            raise HttpError("unauthenticated", "the token's sub must be a customer id")
        self._remember(credential, customer, float(claims["exp"]))
        return Caller(customer=customer)

    def _remember(self, credential: str, customer: str, expires: float) -> None:
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[credential] = (customer, expires)

    def _plain_token(self, credential: str) -> tuple[str, float] | None:
        """(customer, exp) of a valid, unexpired token of the plain form a brand's identity
        provider issues, checked as PyJWT would at a fraction of its cost; None for any
        other token (expired, forged, odd), which PyJWT then accepts or refuses itself.

        Plain form: the HS256 header PyJWT writes, a canonical signature, and only `sub`
        (a customer id), an integer `exp` in the future and an integer `iat` not in it.
        """
        header, _, rest = credential.partition(".")
        payload, _, signature = rest.partition(".")
        if header not in _HS256_HEADERS or not signature:
            return None
        signed = credential[: len(header) + 1 + len(payload)].encode()
        mac = self._hs256.copy()
        mac.update(signed)
        expected = binascii.b2a_base64(mac.digest(), newline=False).translate(_TO_URLSAFE)
        if not hmac.compare_digest(expected.rstrip(b"="), signature.encode()):
            return None
        try:
            # As PyJWT decodes it: padded, and not strict about stray characters.
            raw = (payload + "=" * (-len(payload) % 4)).encode().translate(_FROM_URLSAFE)
            claims = _decode_claims(binascii.a2b_base64(raw))
        except (ValueError, msgspec.DecodeError):
            return None
        customer, exp, iat = claims.get("sub"), claims.get("exp"), claims.get("iat", 0)
        now = time.time()
        if (
            not claims.keys() <= _PLAIN_CLAIMS
            or type(customer) is not str
            or not 0 < len(customer) <= MAX_CUSTOMER_ID
            or type(exp) is not int
            or type(iat) is not int
            or exp <= now
            or iat > now
        ):
            return None
        return customer, float(exp)


def _pyjwt_accepts_key(secret: bytes) -> bool:
    """Whether PyJWT takes `secret` as an HS256 key (it refuses PEM and SSH keys): only
    then may the fast check accept what PyJWT would."""
    try:
        jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256).prepare_key(secret)
    except jwt.PyJWTError:
        return False
    return True
