"""Customers' tokens signed by the brand's identity providers: which configured issuer a
token claims to come from, the key it names in that issuer's JWKS, and PyJWT's checks
(the issuer's algorithms only, the signature, `iss`, `aud`, `exp` within the leeway)."""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import msgspec

from launchday.identity import MAX_CUSTOMER_ID
from launchday.identity.issuers import Issuer
from launchday.identity.jwks import KeySet
from launchday.identity.plain_rs256 import plain_rs256

_decode_claims = msgspec.json.Decoder(dict[str, Any]).decode


class TokenRefused(Exception):
    """The token is not accepted; the message says why, for the 401."""


class KeysUnreadable(Exception):
    """The issuer's keys have never been read: no token of it can be checked yet."""


@dataclass(frozen=True, slots=True)
class Verified:
    customer: str
    until: float  # the token's `exp` plus the issuer's leeway (epoch seconds)
    origin: str  # the issuer and key that verified it: forgotten if the key is withdrawn


@dataclass(frozen=True, slots=True)
class KeyNeeded:
    """The token names a key the issuer's set lacks, and the set may be read again now."""

    keys: KeySet
    kid: str


class IssuedTokens:
    """Tokens of the configured issuers, each issuer's keys kept by a KeySet."""

    def __init__(self, issuers: Iterable[Issuer], fast: bool = True) -> None:
        # False: every token through PyJWT alone (the tests compare both ways).
        self.fast = fast
        issuers = tuple(issuers)
        fetched = any(issuer.jwks_url is not None for issuer in issuers)
        self._client = httpx.AsyncClient(follow_redirects=True) if fetched else None
        self.key_sets = {issuer.iss: KeySet(issuer, self._client) for issuer in issuers}

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def keys_of(self, token: str) -> KeySet | None:
        """The key set of the configured issuer the token names in `iss` (read before any
        check: it only chooses the keys that must then verify it), or None."""
        if not self.key_sets:
            return None
        try:
            payload = token.split(".")[1]
            claims = _decode_claims(binascii.a2b_base64(_padded(payload)))
        except (IndexError, ValueError, msgspec.DecodeError):
            return None
        iss = claims.get("iss")
        return self.key_sets.get(iss) if isinstance(iss, str) else None

    def verify(self, token: str, keys: KeySet) -> Verified | KeyNeeded:
        """The token checked against its issuer's keys; KeyNeeded when it names a key not
        known yet that may be read now. TokenRefused or KeysUnreadable otherwise."""
        # Only to choose the key (PyJWT's own reading costs more than the checks do).
        try:
            header = _decode_claims(binascii.a2b_base64(_padded(token.partition(".")[0])))
        except (ValueError, msgspec.DecodeError):
            raise TokenRefused("the token is not valid") from None
        kid = header.get("kid")
        kid = kid if isinstance(kid, str) else ""
        key = keys.key(kid)
        if key is None:
            if keys.may_read_for_unknown_kid():
                return KeyNeeded(keys, kid)
            if not keys.loaded:
                raise KeysUnreadable(f"the keys of {keys.issuer.name} could not be read")
            raise TokenRefused("the token is signed by a key its issuer does not publish")
        return _checked(token, keys.issuer, key, kid, self.fast)

    async def verify_after_reading(self, token: str, needed: KeyNeeded) -> Verified:
        """The token checked once its issuer's keys have been read again."""
        await needed.keys.refresh_for_unknown_kid()
        key = needed.keys.key(needed.kid)
        if key is None:
            if not needed.keys.loaded:
                raise KeysUnreadable(f"the keys of {needed.keys.issuer.name} could not be read")
            raise TokenRefused("the token is signed by a key its issuer does not publish")
        return _checked(token, needed.keys.issuer, key, needed.kid, self.fast)

    async def read_all(self) -> None:
        """Every issuer's keys read (at start): concurrently, failures logged."""
        await asyncio.gather(*(keys.refresh() for keys in self.key_sets.values()))

    async def refresh_due(self) -> set[str]:
        """The key sets due on their schedule read again; the origins (issuer and key)
        of the keys withdrawn since, whose verified tokens must be checked again."""
        withdrawn: set[str] = set()
        for keys in self.key_sets.values():
            if keys.due():
                withdrawn |= {origin(keys.issuer, kid) for kid in await keys.refresh()}
        return withdrawn


def origin(issuer: Issuer, kid: str) -> str:
    return f"{issuer.name}#{kid}"


def _checked(token: str, issuer: Issuer, key: jwt.PyJWK, kid: str, fast: bool) -> Verified:
    plain = plain_rs256(token, issuer, key.key, key.algorithm_name) if fast else None
    if plain is not None:
        return Verified(plain[0], plain[1], origin(issuer, kid))
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=list(issuer.algorithms),
            audience=list(issuer.audience),
            issuer=issuer.iss,
            leeway=issuer.leeway_seconds,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused("the token has expired") from None
    except jwt.InvalidAudienceError:
        raise TokenRefused("the token is not meant for launchday (aud)") from None
    except jwt.InvalidAlgorithmError:
        raise TokenRefused("the token's algorithm is not one its issuer signs with") from None
    except jwt.PyJWTError:
        raise TokenRefused("the token is not valid") from None
    customer = claims.get(issuer.customer_claim)
    if not isinstance(customer, str) or not 0 < len(customer) <= MAX_CUSTOMER_ID:
        raise TokenRefused(f"the token's {issuer.customer_claim} must be a customer id")
    return Verified(customer, float(claims["exp"]) + issuer.leeway_seconds, origin(issuer, kid))


def _padded(segment: str) -> bytes:
    """A base64url segment as binascii reads it (standard alphabet, padded)."""
    return (segment + "=" * (-len(segment) % 4)).encode().translate(bytes.maketrans(b"-_", b"+/"))
