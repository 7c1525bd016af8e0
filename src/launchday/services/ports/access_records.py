"""What the store keeps of the people who run a launch: their API keys, the audit of
the changes they make, and the token secret's rotations."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from launchday.domain.access import ApiKey, AuditEntry
from launchday.domain.token_secrets import Rotation


class AccessWrites(Protocol):
    def add_key(self, key: ApiKey) -> bool:
        """Keep a new key; False if a key of that name exists."""

    def revoke_key(self, key_id: str, at: datetime) -> ApiKey | None:
        """Revoke the key (at once; revoking twice keeps the first time); None if unknown."""

    def keys_used(self, used: dict[str, datetime]) -> None:
        """Record when each key (by id) was last used."""

    def record_audit(self, entry: AuditEntry) -> None:
        """Keep one change made by a person's key."""

    def add_rotation(self, secret: bytes, at: datetime, previous_until: datetime) -> Rotation:
        """Keep the token secret's next generation."""


class AccessReads(Protocol):
    def api_keys(self) -> list[ApiKey]:
        """Every key, revoked and expired ones too, oldest first."""

    def audit(self, since: datetime | None, key: str | None, limit: int) -> list[AuditEntry]:
        """The audit's entries after `since` (of the key named `key`), oldest first."""

    def token_rotations(self) -> list[Rotation]:
        """The token secret's rotations, oldest first."""
