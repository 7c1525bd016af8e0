"""The one-machine cluster's passwords and launchday's keys: made fresh by `up`, kept in
the run folder (readable by root alone) for `status` and for whoever drives the
cluster after it is up."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Credentials:
    """Every secret a cluster on one machine uses."""

    db_password: str
    """launchday's own database role."""
    superuser_password: str
    replication_password: str
    rewind_password: str
    restapi_password: str
    """Patroni's REST API, for its unsafe endpoints (switchover, restart, config)."""
    admin_key: str
    """`LAUNCHDAY_ADMIN_KEY` of every API host."""
    secret: str
    """`LAUNCHDAY_SECRET` of every API host: the same on all, so a token minted by one
    is good on the others."""

    @classmethod
    def generate(cls, *, admin_key: str | None = None, secret: str | None = None) -> Credentials:
        """Fresh random values (hex: nothing to escape in a URL or a config file)."""
        return cls(
            db_password=secrets.token_hex(16),
            superuser_password=secrets.token_hex(16),
            replication_password=secrets.token_hex(16),
            rewind_password=secrets.token_hex(16),
            restapi_password=secrets.token_hex(16),
            admin_key=admin_key or secrets.token_urlsafe(24),
            secret=secret or secrets.token_urlsafe(32),
        )

    def save(self, path: Path) -> None:
        """Write to `path`, readable and writable by its owner alone."""
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(asdict(self), out, indent=2)

    @classmethod
    def load(cls, path: Path) -> Credentials:
        return cls(**json.loads(path.read_text()))
