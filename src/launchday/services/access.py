"""The people who run a launch: API keys made with a role (and maybe one launch or store
they are bound to), listed, revoked; and the audit of the changes made with them.

Every process keeps every key in memory (a launch team holds dozens, not thousands) and
reads them again each second, so that a key revoked on one process is refused on all
within a second; a key made on another process is read at once on first sight."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from launchday.domain.access import (
    MAX_NAME,
    ApiKey,
    AuditEntry,
    StaffRole,
    hash_of,
    key_id_of,
    new_key,
)
from launchday.domain.errors import AlreadyExists, NotFound, ValidationFailed
from launchday.services.launches import Launches
from launchday.services.ports.locks import WriteScope
from launchday.services.ports.store import Store, WriteTx

log = logging.getLogger("launchday.access")

# Keys and the audit belong to no launch: their writes share a scope of their own.
_SCOPE = WriteScope("")
# How often the keys are read again (a revocation reaches every process within this).
KEYS_READ_EVERY_SECONDS = 1.0
# An unknown key id reads the keys again at once, but at most this often.
UNKNOWN_KEY_READ_SECONDS = 0.1
MAX_AUDIT_PAGE = 1000


class Access:
    def __init__(self, launches: Launches) -> None:
        self.launches = launches
        self.store: Store = launches.store
        self.clock: Callable[[], datetime] = launches.clock
        self._keys: dict[str, ApiKey] = {}
        self._read_at = float("-inf")
        self._used: dict[str, datetime] = {}

    # --- keys ----------------------------------------------------------------------------

    async def create(
        self,
        name: str,
        role: str,
        launch: str | None = None,
        store: str | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its text, shown this once (only its hash is kept)."""
        now = self.clock()
        staff_role = _checked(name, role, store, expires_at, now)
        if launch is not None and self.store.reads.launch(launch) is None:
            raise NotFound(f"no launch {launch!r} to bind the key to", field="launch")
        key_id, text = new_key()
        key = ApiKey(key_id, name, staff_role, hash_of(text), now, launch, store, expires_at)

        def add(tx: WriteTx, _: datetime) -> bool:
            return tx.add_key(key)

        if not await self.store.write(add, _SCOPE):
            raise AlreadyExists(f"a key named {name!r} exists", field="name")
        self._keys[key.id] = key
        return key, text

    def all_keys(self) -> list[ApiKey]:
        return self.store.reads.api_keys()

    async def revoke(self, key_id: str) -> ApiKey:
        """Revoke the key at once (on this process; on the others within a second)."""

        def revoke(tx: WriteTx, now: datetime) -> ApiKey | None:
            return tx.revoke_key(key_id, now)

        revoked = await self.store.write(revoke, _SCOPE)
        if revoked is None:
            raise NotFound(f"no key {key_id!r}", field="id")
        self._keys[revoked.id] = revoked
        return revoked

    def check(self, text: str) -> ApiKey | Awaitable[ApiKey | None] | None:
        """The usable key whose text this is, or None (unknown, wrong, revoked, expired).
        A key id not known here is read again from the store (it may have been made on
        another process), at most every UNKNOWN_KEY_READ_SECONDS: awaitable then."""
        key_id = key_id_of(text)
        if key_id is None:
            return None
        key = self._keys.get(key_id)
        if key is None:
            wait = UNKNOWN_KEY_READ_SECONDS - (time.monotonic() - self._read_at)
            if wait > 0:
                return self._check_later(text, key_id, wait)
            self.read_keys()
            key = self._keys.get(key_id)
        return self._usable(text, key)

    async def _check_later(self, text: str, key_id: str, wait: float) -> ApiKey | None:
        await asyncio.sleep(wait)
        if key_id not in self._keys and time.monotonic() - self._read_at >= wait:
            self.read_keys()  # the first of those waiting reads; the others find it read
        return self._usable(text, self._keys.get(key_id))

    def _usable(self, text: str, key: ApiKey | None) -> ApiKey | None:
        now = self.clock()
        if key is None or not hmac.compare_digest(hash_of(text), key.secret_hash):
            return None
        if not key.usable(now):
            return None
        self._used[key.id] = now
        return key

    def read_keys(self) -> None:
        self._keys = {key.id: key for key in self.store.reads.api_keys()}
        self._read_at = time.monotonic()

    async def note_use(self) -> None:
        """Keep when each key was last used (once a second, not on every call)."""
        if not self._used:
            return
        used, self._used = self._used, {}

        def keep(tx: WriteTx, _: datetime) -> None:
            tx.keys_used(used)

        await self.store.write(keep, _SCOPE)

    async def run(self, every: float = KEYS_READ_EVERY_SECONDS) -> None:
        """Read the keys again and keep their last use, every `every` seconds."""
        while True:
            await asyncio.sleep(every)
            try:
                self.read_keys()
                await self.note_use()
            except Exception:
                log.exception("reading the API keys: will try again")

    # --- the audit -----------------------------------------------------------------------

    async def record(self, entry: AuditEntry) -> None:
        def keep(tx: WriteTx, _: datetime) -> None:
            tx.record_audit(entry)

        await self.store.write(keep, _SCOPE)

    def audit(
        self, since: datetime | None = None, key: str | None = None, limit: int = MAX_AUDIT_PAGE
    ) -> list[AuditEntry]:
        return self.store.reads.audit(since, key, min(limit, MAX_AUDIT_PAGE))


def _checked(
    name: str, role: str, store: str | None, expires_at: datetime | None, now: datetime
) -> StaffRole:
    if not 0 < len(name) <= MAX_NAME or not name.isprintable():
        raise ValidationFailed(f"a key's name is 1 to {MAX_NAME} printable characters", "name")
    try:
        staff_role = StaffRole(role)
    except ValueError:
        roles = ", ".join(r.value for r in StaffRole)
        raise ValidationFailed(f"role must be one of {roles}", "role") from None
    if (staff_role is StaffRole.STORE) != (store is not None):
        raise ValidationFailed("a store key names its store, and only a store key does", "store")
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", "expires_at")
    return staff_role
