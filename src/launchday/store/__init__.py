"""Storage: the ports the services use and the adapters that hold the SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from launchday.store.ports import Store


def open_store(url: str, clock: Callable[[], datetime]) -> Store:
    """The store for a `LAUNCHDAY_DB` URL; nothing connects until `start()`."""
    if url.startswith("sqlite:"):
        from launchday.store.sqlite import SQLiteStore, sqlite_path

        return SQLiteStore(sqlite_path(url), clock)
    from launchday.store.postgres import PostgresStore, is_postgres_url

    if is_postgres_url(url):
        return PostgresStore(url, clock)
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite:///path/to/file.db or postgresql://..."
    )
