"""Reads of API keys and the people's audit."""

from __future__ import annotations

from datetime import datetime

from launchday.domain.access import ApiKey, AuditEntry
from launchday.domain.clock import to_micros
from launchday.domain.token_secrets import Rotation
from launchday.store.access_tx import (
    AUDIT_COLUMNS,
    KEY_COLUMNS,
    ROTATION_COLUMNS,
    audit_from_row,
    key_from_row,
    rotation_from_row,
)
from launchday.store.reads.point import PointReads


class AccessReads(PointReads):
    """Implements the access read port."""

    def api_keys(self) -> list[ApiKey]:
        rows = self._session.run(
            lambda db: db.all(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at_us, id")
        )
        return [key_from_row(row) for row in rows]

    def audit(self, since: datetime | None, key: str | None, limit: int) -> list[AuditEntry]:
        params: dict[str, object] = {
            "since": -1 if since is None else to_micros(since),
            "limit": limit,
        }
        where = "at_us > :since"
        if key is not None:
            where += " AND key_name = :key"
            params["key"] = key
        rows = self._session.run(
            lambda db: db.all(
                f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {where} ORDER BY at_us, id"
                " LIMIT :limit",
                params,
            )
        )
        return [audit_from_row(row) for row in rows]

    def token_rotations(self) -> list[Rotation]:
        rows = self._session.run(
            lambda db: db.all(f"SELECT {ROTATION_COLUMNS} FROM token_secrets ORDER BY generation")
        )
        return [rotation_from_row(row) for row in rows]
