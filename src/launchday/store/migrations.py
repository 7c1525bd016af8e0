"""Applying the schema's named steps (`launchday.store.schema`), in order, once each,
recorded in `schema_migrations`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from launchday.store.schema import STEPS, Dialect, Step


def migrate_sqlite(conn: sqlite3.Connection, steps: Sequence[Step] = STEPS) -> list[str]:
    """Apply the steps not yet recorded; return the names applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    applied = []
    for step in steps:
        if step.name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in step.statements(Dialect.SQLITE):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", (step.name,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(step.name)
    return applied


# Held while migrating, so that server processes starting together migrate once.
MIGRATION_LOCK = 0x6C61756E636864  # "launchd"


def migrate_postgres(conn: Any, steps: Sequence[Step] = STEPS) -> list[str]:
    """Apply the steps not yet recorded (on a psycopg connection in autocommit)."""
    applied = []
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
        for step in steps:
            if step.name in done:
                continue
            with conn.transaction():
                for statement in step.statements(Dialect.POSTGRES):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (step.name,))
            applied.append(step.name)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied


def migrate_database(url: str) -> list[str]:
    """Bring the database at `url` to the current schema; return the migrations applied."""
    from launchday.store.postgres import connect, is_postgres_url

    if is_postgres_url(url):
        conn = connect(url)
        try:
            return migrate_postgres(conn)
        finally:
            conn.close()
    from pathlib import Path

    from launchday.store.sqlite import connect as connect_sqlite
    from launchday.store.sqlite import sqlite_path

    path = sqlite_path(url)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sqlite_conn = connect_sqlite(path)
    try:
        return migrate_sqlite(sqlite_conn)
    finally:
        sqlite_conn.close()
