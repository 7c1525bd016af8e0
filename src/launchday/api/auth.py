"""Who is calling: customers by a token of the brand's identity provider (signed with its
published keys) or of launchday's own secret, admins by the admin key."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import jwt
import msgspec

from launchday.domain.access import KEY_PREFIX, ApiKey, StaffRole
from launchday.http.errors import HttpError
from launchday.http.routing import Auth, Caller, Role
from launchday.identity import MAX_CUSTOMER_ID
from launchday.identity.issued_tokens import (
    IssuedTokens,
    KeyNeeded,
    KeysUnreadable,
    TokenRefused,
    Verified,
)

# The admin key of the environment (LAUNCHDAY_ADMIN_KEY): every power, named in the audit.
BOOTSTRAP_ADMIN = Caller(customer=None, role="admin", key="bootstrap-admin")
_ROLE: dict[StaffRole, Role] = {
    StaffRole.ADMIN: "admin",
    StaffRole.OPERATOR: "operator",
    StaffRole.ANALYST: "analyst",
    StaffRole.SUPPORT: "support",
    StaffRole.STORE: "store",
}
# When an issuer's keys cannot be read, a buyer may try again after this many seconds.
KEYS_RETRY_AFTER_SECONDS = 5
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
    """Checks bearer credentials against the admin key, the configured issuers' keys and
    the customer-token secret, for the route being called (`__call__`: the app's one
    place for it).

    The secret may come after the authenticator is made (`use_secret`): a database keeps
    it when the environment does not, and the store is read once the server starts.
    """

    def __init__(
        self,
        secret: bytes | None,
        admin_key: str,
        issued: IssuedTokens | None = None,
        staff_keys: Callable[[str], ApiKey | Awaitable[ApiKey | None] | None] | None = None,
    ) -> None:
        self._admin_key = admin_key.encode()
        self.issued = issued or IssuedTokens(())
        self._staff_keys = staff_keys or (lambda _: None)
        # Tokens already verified, by their exact text: until when, for which customer,
        # and (for those an issuer's key verified) whose key. A waiting browser polls with
        # the same token many times, and a signature check costs more than the answer
        # does. Plain strings and floats, never a tuple per token: the garbage collector
        # tracks a tuple until a collection has looked at it, and a launch's crush
        # remembering 7,000 tokens a second filled the young generation with them.
        self._verified_until: dict[str, float] = {}
        self._verified_as: dict[str, str] = {}
        self._verified_by: dict[str, str] = {}
        self._secret = b""
        self._retiring: list[tuple[bytes, Any]] = []  # rotated out, still verifying
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
        self._forget_verified()

    def use_secrets(self, signing: bytes, also_verifying: tuple[bytes, ...]) -> None:
        """Check customer tokens against `signing` and, while they retire, the secrets
        it replaced (a rotation: launchday.domain.token_secrets)."""
        self.use_secret(signing)
        self._retiring = [
            (secret, hmac.new(secret, digestmod=hashlib.sha256))
            for secret in also_verifying
            if _pyjwt_accepts_key(secret)
        ]

    def __call__(
        self, auth: Auth, authorization: str | None, params: Mapping[str, str]
    ) -> Caller | Awaitable[Caller]:
        """The caller of a route whose auth is `auth` (with these path parameters): 401
        without valid credentials, 403 for a caller the route does not let in. Awaitable
        only when a token names an issuer's key not read yet."""
        caller = self.caller(authorization)
        if not isinstance(caller, Caller):
            return self._admitted_later(auth, caller, params)
        if caller.customer is not None and "customer" in auth:
            return caller  # the order path's case, without a further call
        return _admitted(auth, caller, params)

    async def _admitted_later(
        self, auth: Auth, caller: Awaitable[Caller], params: Mapping[str, str]
    ) -> Caller:
        return _admitted(auth, await caller, params)

    def forget_withdrawn(self, origins: set[str]) -> None:
        """Tokens verified by keys their issuer has withdrawn are checked again."""
        if origins:
            for token in [t for t, by in self._verified_by.items() if by in origins]:
                del self._verified_until[token], self._verified_as[token], self._verified_by[token]

    def caller(self, authorization: str | None) -> Caller | Awaitable[Caller]:
        """The caller named by an `Authorization` header, or 401."""
        if not authorization:
            raise HttpError("unauthenticated", "send Authorization: Bearer <token>")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise HttpError("unauthenticated", "use the Bearer scheme")
        if hmac.compare_digest(credential.encode(), self._admin_key):
            return BOOTSTRAP_ADMIN
        until = self._verified_until.get(credential)
        if until is not None and time.time() < until:
            return Caller(self._verified_as[credential])
        plain = self._plain_token(credential, self._hs256) if self._fast else None
        if plain is None and self._retiring:
            plain = self._plain_token_of_retiring(credential)
        if plain is not None:
            self._remember(credential, *plain, "")
            return Caller(plain[0])
        if credential.startswith(KEY_PREFIX):  # a person's key (never a token's text)
            found = self._staff_keys(credential)
            if found is None or isinstance(found, ApiKey):
                return _holder(found)
            return self._holder_later(found)
        keys = self.issued.keys_of(credential)
        if keys is not None:
            try:
                verified = self.issued.verify(credential, keys)
            except (TokenRefused, KeysUnreadable) as error:
                raise _refusal(error) from None
            if isinstance(verified, KeyNeeded):
                return self._after_reading(credential, verified)
            return self._accepted(credential, verified)
        if not self._secret:
            raise HttpError("unauthenticated", "the server is not ready for customer tokens")
        claims = self._signed_claims(credential)
        customer = claims["sub"]
        if not isinstance(customer, str) or not 0 < len(customer) <= MAX_CUSTOMER_ID:
            raise HttpError("unauthenticated", "the token's sub must be a customer id")
        self._remember(credential, customer, float(claims["exp"]), "")
        return Caller(customer=customer)

    def _plain_token_of_retiring(self, credential: str) -> tuple[str, float] | None:
        for _, mac in self._retiring:
            plain = self._plain_token(credential, mac)
            if plain is not None:
                return plain
        return None

    def _signed_claims(self, credential: str) -> dict[str, Any]:
        """The claims of a token signed with the secret, or one still retiring (PyJWT's
        checks, for every token the fast check does not take)."""
        secrets = [self._secret, *(secret for secret, _ in self._retiring)]
        for index, secret in enumerate(secrets):
            try:
                return jwt.decode(
                    credential, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]}
                )
            except jwt.InvalidSignatureError:
                if index + 1 < len(secrets):
                    continue
                raise HttpError("unauthenticated", "the token is not valid") from None
            except jwt.ExpiredSignatureError:
                raise HttpError("unauthenticated", "the token has expired") from None
            except jwt.PyJWTError:
                raise HttpError("unauthenticated", "the token is not valid") from None
        raise AssertionError("unreachable: the last secret answers or raises")

    async def _holder_later(self, found: Awaitable[ApiKey | None]) -> Caller:
        return _holder(await found)

    async def _after_reading(self, credential: str, needed: KeyNeeded) -> Caller:
        try:
            verified = await self.issued.verify_after_reading(credential, needed)
        except (TokenRefused, KeysUnreadable) as error:
            raise _refusal(error) from None
        return self._accepted(credential, verified)

    def _accepted(self, credential: str, verified: Verified) -> Caller:
        self._remember(credential, verified.customer, verified.until, verified.origin)
        return Caller(customer=verified.customer)

    def _remember(self, credential: str, customer: str, expires: float, origin: str) -> None:
        if len(self._verified_until) >= VERIFIED_TOKENS_KEPT:
            self._forget_verified()
        self._verified_until[credential] = expires
        self._verified_as[credential] = customer
        if origin:
            self._verified_by[credential] = origin
        else:
            self._verified_by.pop(credential, None)

    def _forget_verified(self) -> None:
        self._verified_until.clear()
        self._verified_as.clear()
        self._verified_by.clear()

    def _plain_token(self, credential: str, hs256: Any) -> tuple[str, float] | None:
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
        mac = hs256.copy()
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


def _holder(key: ApiKey | None) -> Caller:
    if key is None:
        raise HttpError("unauthenticated", "the key is not valid, or revoked, or expired")
    return Caller(None, _ROLE[key.role], key.name, key.launch, key.store)


def _admitted(auth: Auth, caller: Caller, params: Mapping[str, str]) -> Caller:
    """The caller, if the route's declaration lets it in (403 otherwise): a customer on
    a route for customers, a key's holder on a route for its role and, for a key bound
    to one launch or one store, only on that launch's or that store's paths."""
    if auth == "anyone":
        return caller
    if caller.customer is not None:
        if "customer" in auth:
            return caller
        raise HttpError("forbidden", f"this call is for {_who(auth)}, not customers")
    if caller.role is None or caller.role not in auth:
        raise HttpError("forbidden", f"this call is for {_who(auth)}, not the {caller.role} role")
    slug = params.get("slug")
    if slug is not None and not caller.may_act_on(slug):
        raise HttpError("forbidden", f"this key acts on the launch {caller.launch!r} only")
    store = params.get("store")
    if store is not None and not caller.may_act_at(store):
        raise HttpError("forbidden", f"this key belongs to the store {caller.store!r} only")
    return caller


def _who(auth: tuple[Role, ...]) -> str:
    names = [("customers" if role == "customer" else role) for role in auth]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _refusal(error: TokenRefused | KeysUnreadable) -> HttpError:
    if isinstance(error, KeysUnreadable):
        return HttpError(
            "unavailable",
            f"{error}; try again shortly",
            headers={"Retry-After": str(KEYS_RETRY_AFTER_SECONDS)},
        )
    return HttpError("unauthenticated", str(error))


def _pyjwt_accepts_key(secret: bytes) -> bool:
    """Whether PyJWT takes `secret` as an HS256 key (it refuses PEM and SSH keys): only
    then may the fast check accept what PyJWT would."""
    try:
        jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256).prepare_key(secret)
    except jwt.PyJWTError:
        return False
    return True
