"""Storage: the adapters that hold the SQL behind the services' ports.

`open_store` picks the adapter for a `LAUNCHDAY_DB` URL; `database_secret` reads (or
creates) the token secret a database keeps, and `signing_secret` the one signing now
(after any rotation), for commands that run without a server.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from launchday.services.ports.store import Store


def open_store(url: str, clock: Callable[[], datetime], replica_url: str | None = None) -> Store:
    """The store for a `LAUNCHDAY_DB` URL, its reports read on the standby at
    `replica_url` if one is given (PostgreSQL only); nothing connects until `start()`."""
    if url.startswith("sqlite:"):
        from launchday.store.sqlite import SQLiteStore, sqlite_path

        if replica_url:
            raise ValueError("a replica needs a PostgreSQL database: SQLite has no standby")
        return SQLiteStore(sqlite_path(url), clock)
    from launchday.store.postgres import PostgresStore, is_postgres_url

    if is_postgres_url(url):
        return PostgresStore(url, clock, replica_url=replica_url)
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite:///path/to/file.db or postgresql://..."
    )


def database_secret(url: str) -> bytes:
    """The token secret kept with the database at `url`, created on first use: beside a
    SQLite file (`<db>.secret`), or in PostgreSQL's `instance_secret` table."""
    from launchday.store.postgres import ensure_secret, is_postgres_url
    from launchday.store.sqlite import secret_beside, sqlite_path

    if is_postgres_url(url):
        return ensure_secret(url, secrets.token_urlsafe(32).encode())
    return secret_beside(sqlite_path(url))


def signing_secret(url: str, instance: bytes) -> bytes:
    """The secret that signs launchday's own tokens now: the last rotation's kept in the
    database at `url` (launchday.domain.token_secrets), else `instance`."""
    from launchday.store.postgres import is_postgres_url
    from launchday.store.reads.access import AccessReads
    from launchday.store.reads.session import OneConnection
    from launchday.store.sql import ReadConnection

    if is_postgres_url(url):
        from launchday.store.postgres import connect as connect_postgres

        conn: Any = connect_postgres(url)  # migrated by database_secret before
    else:
        from launchday.store.sqlite import connect as connect_sqlite
        from launchday.store.sqlite import sqlite_path

        path = sqlite_path(url)
        if path in ("", ":memory:") or not Path(path).exists():
            return instance  # no database yet: nothing rotated
        conn = connect_sqlite(path, readonly=True)
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'token_secrets'"
        ).fetchone():
            conn.close()
            return instance  # a database no server of this version has opened yet
    try:
        rotations = AccessReads(OneConnection(ReadConnection(conn))).token_rotations()
    finally:
        conn.close()
    return rotations[-1].secret if rotations else instance
