"""Settings, built once from the environment and passed to `create_app`."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "sqlite:///./launchday.db"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# RFC 7518 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32


class ConfigError(ValueError):
    """A setting has a value the server cannot run with."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs to know at start."""

    db_url: str = DEFAULT_DB
    """`LAUNCHDAY_DB`: `sqlite:///path/to/file.db` (default `./launchday.db`) or
    `postgresql://user@host:port/database`."""

    admin_key: str = ""
    """`LAUNCHDAY_ADMIN_KEY`: bearer key for admin calls; generated at start when unset."""

    admin_key_generated: bool = False
    """True when the admin key was generated here (the server prints it once)."""

    secret: bytes = b""
    """`LAUNCHDAY_SECRET`: HMAC key for customer and admission tokens; kept beside the db."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """`LAUNCHDAY_MAX_BODY_BYTES`: larger request bodies get 413 `too_large` (default 64 KiB)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, db_url: str | None = None) -> Settings:
        """Read the environment (or `env`); `db_url` overrides `LAUNCHDAY_DB`."""
        env = os.environ if env is None else env
        url = db_url or env.get("LAUNCHDAY_DB") or DEFAULT_DB
        admin_key = env.get("LAUNCHDAY_ADMIN_KEY", "")
        generated = not admin_key
        if generated:
            admin_key = secrets.token_urlsafe(24)
        secret = env.get("LAUNCHDAY_SECRET", "").encode() or secret_beside(url)
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"LAUNCHDAY_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        max_body = int(env.get("LAUNCHDAY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
        return cls(url, admin_key, generated, secret, max_body)


def secret_path(db_url: str) -> Path:
    """Where the generated secret of a database lives: `<db file>.secret`."""
    from launchday.store.sqlite import sqlite_path

    return Path(sqlite_path(db_url) + ".secret")


def secret_beside(db_url: str) -> bytes:
    """The secret kept with the database, created on first use: beside a SQLite file
    (mode 0600), or in a PostgreSQL database's `instance_secret` table."""
    from launchday.store.postgres import ensure_secret, is_postgres_url

    if is_postgres_url(db_url):
        return ensure_secret(db_url, secrets.token_urlsafe(32).encode())
    path = secret_path(db_url)
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32).encode()
    # O_EXCL: if another process created it first, use theirs.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(value + b"\n")
    return value
