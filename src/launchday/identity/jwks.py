"""An issuer's public keys as its JWKS last published them: read at start, read again
every `refresh_seconds` (a key the issuer withdrew stops verifying then), and on a token
naming a key id not yet known, at most once every `unknown_kid_seconds`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import msgspec

from launchday.identity.issuers import Issuer

log = logging.getLogger("launchday.identity")

FETCH_TIMEOUT_SECONDS = 5.0
_decode_jwks = msgspec.json.Decoder(dict[str, Any]).decode


class KeySet:
    """One issuer's signing keys by key id (a key published without one under "")."""

    def __init__(
        self,
        issuer: Issuer,
        client: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._client = client
        self._monotonic = monotonic
        self.keys: dict[str, jwt.PyJWK] = {}
        self.read_at: float | None = None  # when the keys were last read (monotonic)
        self._unknown_read_at: float | None = None  # the last read for an unknown kid
        self.reads = 0
        self._reading: asyncio.Future[set[str]] | None = None

    @property
    def loaded(self) -> bool:
        return self.read_at is not None

    def key(self, kid: str | None) -> jwt.PyJWK | None:
        return self.keys.get(kid or "")

    def due(self) -> bool:
        """Whether the keys are due to be read again on the periodic schedule."""
        return self.read_at is None or (
            self._monotonic() - self.read_at >= self.issuer.refresh_seconds
        )

    def may_read_for_unknown_kid(self) -> bool:
        """Whether a token naming a key id not known may have the keys read now: while a
        read is under way (it shares it), or if no such read was made in the last
        `unknown_kid_seconds` (reads on the schedule do not count)."""
        return (
            self._reading is not None
            or self._unknown_read_at is None
            or self._monotonic() - self._unknown_read_at >= self.issuer.unknown_kid_seconds
        )

    async def refresh_for_unknown_kid(self) -> set[str]:
        if self._reading is None:
            self._unknown_read_at = self._monotonic()
        return await self.refresh()

    async def refresh(self) -> set[str]:
        """Read the keys again (one read at a time: callers meanwhile share its result);
        the key ids that are gone. On failure the keys already known stay in use."""
        if self._reading is not None:
            return await asyncio.shield(self._reading)
        self._reading = asyncio.get_running_loop().create_future()
        removed: set[str] = set()
        try:
            removed = self._replace(await self._read())
        except Exception as error:  # a provider down or a bad document: keep what we have
            log.warning("issuer %s: could not read its keys: %s", self.issuer.name, error)
        finally:
            self._reading.set_result(removed)
            self._reading = None
        return removed

    def _replace(self, keys: dict[str, jwt.PyJWK]) -> set[str]:
        removed = set(self.keys) - set(keys)
        self.keys = keys
        self.read_at = self._monotonic()
        self.reads += 1
        return removed

    async def _read(self) -> dict[str, jwt.PyJWK]:
        if self.issuer.jwks_file is not None:
            data = await asyncio.to_thread(Path(self.issuer.jwks_file).read_bytes)
        else:
            assert self.issuer.jwks_url is not None
            assert self._client is not None, "an issuer with a jwks_url needs an HTTP client"
            answer = await self._client.get(self.issuer.jwks_url, timeout=FETCH_TIMEOUT_SECONDS)
            answer.raise_for_status()
            data = answer.content
        return signing_keys(_decode_jwks(data), self.issuer.algorithms)


def signing_keys(document: dict[str, Any], algorithms: tuple[str, ...]) -> dict[str, jwt.PyJWK]:
    """The keys of a JWKS document that sign with one of `algorithms`, by key id; keys
    meant for encryption, of other algorithms or that cannot be read are left out."""
    found: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys") or []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in algorithms:
            found[str(entry.get("kid") or "")] = key
    if not found:
        raise ValueError("the JWKS has no signing key of the accepted algorithms")
    return found
