"""Read-only SQL written once for SQLite and PostgreSQL: for the stores, reports, dashboard.

The two stores keep the same tables and columns (times as integer microseconds, flags
as 0/1), and the reads use only SQL the two share: `count(*) FILTER (WHERE ...)`,
`coalesce`, integer division of integers, `WITH ... AS (VALUES ...)`. What differs is
kept here:

- placeholders: queries are written with `:name`, which SQLite takes as it is and
  which becomes psycopg's `%(name)s` for PostgreSQL;
- the snapshot: one read transaction, so that every figure of a report is as of the
  same commit. SQLite in WAL mode gives that to any read transaction; PostgreSQL's
  default READ COMMITTED takes a new snapshot per statement, so the report runs in
  REPEATABLE READ (one snapshot for the whole transaction), READ ONLY, with settings
  for a few large aggregates rather than many small statements (`REPORT_SETTINGS`);
- what PostgreSQL returns that SQLite does not: `sum` of a BIGINT is a NUMERIC (a
  `Decimal` in Python), so callers read integers through `int()`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeAlias

import psycopg
from psycopg.pq import TransactionStatus

Connection: TypeAlias = sqlite3.Connection | psycopg.Connection[Any]
Params: TypeAlias = Mapping[str, object]

# For the length of a report's transaction on PostgreSQL (SET LOCAL). The order pass
# joins every order to its customer's registration by hash: with the default 4 MB the
# hash of a million registrations spills to disk in batches, and 64 MB holds it. JIT
# compilation takes about 0.1 s per large query, more than it saves on these counts.
REPORT_SETTINGS: dict[str, str] = {"work_mem": "64MB", "jit": "off"}

# `:name`, but not the `::` of a PostgreSQL cast.
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=256)
def to_pyformat(sql: str) -> str:
    """`sql` with `:name` placeholders written as psycopg's `%(name)s` (and `%` as `%%`)."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


class ReadConnection:
    """A connection to either database, for queries that only read."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_postgres = not isinstance(conn, sqlite3.Connection)

    def all(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        """Every row of `sql` (placeholders written `:name`)."""
        if isinstance(self.conn, sqlite3.Connection):
            return self.conn.execute(sql, params or {}).fetchall()
        return self.conn.execute(to_pyformat(sql), params or {}).fetchall()

    def one(self, sql: str, params: Params | None = None) -> tuple[Any, ...] | None:
        """The first row of `sql`, or None when there is none."""
        if isinstance(self.conn, sqlite3.Connection):
            row: tuple[Any, ...] | None = self.conn.execute(sql, params or {}).fetchone()
            return row
        return self.conn.execute(to_pyformat(sql), params or {}).fetchone()

    def first(self, sql: str, params: Params | None = None) -> tuple[Any, ...]:
        """The first row of a query that always has one (an aggregate without GROUP BY)."""
        row = self.one(sql, params)
        assert row is not None, "an aggregate query returns a row"
        return row

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Run the queries inside in one read transaction, so that their figures agree.

        If the caller already holds a transaction, its snapshot is used as it is.
        """
        conn = self.conn
        if isinstance(conn, sqlite3.Connection):
            # In WAL mode a read transaction sees the last commit before its first read
            # and nothing after, however long the writer keeps going.
            if conn.in_transaction:
                yield
                return
            conn.execute("BEGIN")
            try:
                yield
            finally:
                conn.execute("ROLLBACK")  # nothing was written: this only ends the snapshot
            return
        if conn.info.transaction_status != TransactionStatus.IDLE:
            yield
            return
        if conn.autocommit:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            # psycopg opens the transaction itself on the first statement; this must be it.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            for name, value in REPORT_SETTINGS.items():
                conn.execute("SELECT set_config(%s, %s, true)", (name, value))
            yield
        finally:
            if conn.autocommit:
                conn.execute("ROLLBACK")
            else:
                conn.rollback()


def read_connection(conn: Connection | ReadConnection) -> ReadConnection:
    """`conn` ready for `ReadConnection`'s queries (as it is if it is one already)."""
    return conn if isinstance(conn, ReadConnection) else ReadConnection(conn)
