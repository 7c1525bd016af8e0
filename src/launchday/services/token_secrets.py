"""The token secret in force on every process: the instance's, or the last rotation's,
with the retiring ones still verifying until their time. Read again every second, so a
rotation made on one process signs on all within a second; whoever signs or checks
launchday's own tokens is told of every change (`on_change`)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from launchday.domain.errors import ValidationFailed
from launchday.domain.token_secrets import Rotation, SecretsInForce, secrets_in_force
from launchday.services.ports.locks import Lock, WriteScope
from launchday.services.ports.store import Store, WriteTx

log = logging.getLogger("launchday.secrets")

_SCOPE = WriteScope("", (Lock("token_secrets"),))
READ_EVERY_SECONDS = 1.0
MAX_GRACE = timedelta(days=30)
SECRET_BYTES = 32

Listener = Callable[[SecretsInForce], None]


class TokenSecrets:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._instance = b""
        self._rotations: list[Rotation] = []
        self._listeners: list[Listener] = []
        self.in_force: SecretsInForce | None = None

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def start(self, instance: bytes) -> None:
        """The instance's secret, then the rotations the store holds: in force now."""
        self._instance = instance
        self.read()

    def read(self) -> None:
        """Read the rotations again; tell the listeners if what is in force changed
        (a rotation, or a retiring secret's time come)."""
        if not self._instance:
            return
        self._rotations = self.store.reads.token_rotations()
        now_in_force = secrets_in_force(self._instance, self._rotations, self.clock())
        if now_in_force != self.in_force:
            self.in_force = now_in_force
            for listener in self._listeners:
                listener(now_in_force)

    async def rotate(self, previous_verifies_for: timedelta) -> Rotation:
        """A new secret signs from now; the one it replaces verifies for a while more."""
        if not timedelta(0) <= previous_verifies_for <= MAX_GRACE:
            raise ValidationFailed(
                f"the old secret may verify for 0 to {MAX_GRACE.days} days",
                "previous_verifies_for_seconds",
            )
        fresh = secrets.token_urlsafe(SECRET_BYTES).encode()

        def add(tx: WriteTx, now: datetime) -> Rotation:
            return tx.add_rotation(fresh, now, now + previous_verifies_for)

        rotation = await self.store.write(add, _SCOPE)
        self.read()
        return rotation

    async def run(self, every: float = READ_EVERY_SECONDS) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                self.read()
            except Exception:
                log.exception("reading the token secret's rotations: will try again")
