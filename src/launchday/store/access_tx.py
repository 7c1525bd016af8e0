"""The writes of API keys and the people's audit inside a batch's transaction, for both
databases."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from launchday.domain.access import ApiKey, AuditEntry, StaffRole
from launchday.domain.clock import from_micros, to_micros
from launchday.domain.token_secrets import Rotation

KEY_COLUMNS = (
    "id, name, role, secret_hash, created_at_us, launch, store,"
    " expires_at_us, revoked_at_us, last_used_at_us"
)
AUDIT_COLUMNS = "at_us, key_name, role, method, path, status, change, launch"
ROTATION_COLUMNS = "generation, secret, rotated_at_us, previous_until_us"


def rotation_from_row(row: Sequence[Any]) -> Rotation:
    """A rotation from its `ROTATION_COLUMNS`."""
    generation, secret, rotated_at, previous_until = row
    return Rotation(
        int(generation),
        bytes(secret),
        from_micros(int(rotated_at)),
        from_micros(int(previous_until)),
    )


def _time(micros: Any) -> datetime | None:
    return None if micros is None else from_micros(int(micros))


def key_from_row(row: Sequence[Any]) -> ApiKey:
    """A key from its `KEY_COLUMNS`."""
    created = from_micros(int(row[4]))
    return ApiKey(
        row[0], row[1], StaffRole(row[2]), row[3], created, row[5], row[6],
        _time(row[7]), _time(row[8]), _time(row[9]),
    )  # fmt: skip


def audit_from_row(row: Sequence[Any]) -> AuditEntry:
    """An audit entry from its `AUDIT_COLUMNS`."""
    at, key, role, method, path, status, change, launch = row
    return AuditEntry(from_micros(int(at)), key, role, method, path, int(status), change, launch)


class AccessTx:
    """Mixed into `SqlWriteTx`, whose statements it runs."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def add_key(self, key: ApiKey) -> bool:
        cursor = self.execute(
            f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            (
                key.id, key.name, key.role.value, key.secret_hash, to_micros(key.created_at),
                key.launch, key.store,
                None if key.expires_at is None else to_micros(key.expires_at), None, None,
            ),
        )  # fmt: skip
        return cursor.fetchone() is not None

    def revoke_key(self, key_id: str, at: datetime) -> ApiKey | None:
        self.execute(
            "UPDATE api_keys SET revoked_at_us = ? WHERE id = ? AND revoked_at_us IS NULL",
            (to_micros(at), key_id),
        )
        row = self.execute(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        found = row.fetchone()
        return None if found is None else key_from_row(found)

    def keys_used(self, used: dict[str, datetime]) -> None:
        for key_id, at in used.items():
            self.execute(
                "UPDATE api_keys SET last_used_at_us = ? WHERE id = ?", (to_micros(at), key_id)
            )

    def record_audit(self, entry: AuditEntry) -> None:
        self.execute(
            f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                to_micros(entry.at), entry.key, entry.role, entry.method, entry.path,
                entry.status, entry.change, entry.launch,
            ),
        )  # fmt: skip

    def add_rotation(self, secret: bytes, at: datetime, previous_until: datetime) -> Rotation:
        last = self.execute("SELECT max(generation) FROM token_secrets").fetchone()
        rotation = Rotation(int(last[0] or 0) + 1, secret, at, previous_until)
        self.execute(
            f"INSERT INTO token_secrets ({ROTATION_COLUMNS}) VALUES (?, ?, ?, ?)",
            (rotation.generation, secret, to_micros(at), to_micros(previous_until)),
        )
        return rotation
