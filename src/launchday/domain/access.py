"""API keys for the people who run a launch: each with a role, a name, maybe one launch
or one store it is bound to, an expiry, and revocable at once. A key is shown once, when
made; only its hash is kept. The audit names the key behind every change."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KEY_PREFIX = "ldk_"
# The key's public id (its row) and its secret part, both URL-safe: `ldk_<id>_<secret>`.
_ID_BYTES = 9
_ID_CHARS = 12  # 9 bytes in base64url
_SECRET_BYTES = 32
MAX_NAME = 64


class StaffRole(StrEnum):
    """What a key may do (the routes' declarations say which calls each role makes)."""

    ADMIN = "admin"  # everything
    OPERATOR = "operator"  # admission rate, pause, resume; the launch's figures
    ANALYST = "analyst"  # reports, the ledger, supply risk: read only
    SUPPORT = "support"  # any order and its history, refunds: read only
    STORE = "store"  # one store's staff (bound to that store)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    role: StaffRole
    secret_hash: str
    created_at: datetime
    launch: str | None = None
    store: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change made by a person's key: who (the key's name and role), when, what."""

    at: datetime
    key: str
    role: str
    method: str
    path: str
    status: int
    change: str
    launch: str | None = None


def new_key() -> tuple[str, str]:
    """(the key's id, the key's full text) of a fresh key: 72 bits of id, 256 of secret."""
    key_id = secrets.token_urlsafe(_ID_BYTES)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def key_id_of(text: str) -> str | None:
    """The id part of a key's text, or None for text not shaped as a key."""
    start, end = len(KEY_PREFIX), len(KEY_PREFIX) + _ID_CHARS
    if not text.startswith(KEY_PREFIX) or text[end : end + 1] != "_":
        return None
    return text[start:end]


def hash_of(text: str) -> str:
    """What is kept of a key: its SHA-256 (the key is 256 random bits, so a fast hash is
    enough: there is no password to guess)."""
    return hashlib.sha256(text.encode()).hexdigest()
