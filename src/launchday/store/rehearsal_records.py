"""The rehearsal payment provider's own records (launchday.payments.rehearsal): what a
provider keeps, in a SQLite file of its own, apart from launchday's database, shared
by every server process on the host. An intent is recorded when it is paid or
withdrawn (the first of the two stands); a refund when it is sent (one per intent)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS intents (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL,
        updated REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS refunds (
        id TEXT PRIMARY KEY,
        intent_id TEXT NOT NULL UNIQUE,
        order_id TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL
    )""",
)

# A refund as kept: its id, intent, order, amount, currency and status.
RefundRow = tuple[str, str, str, int, str, str]


class RehearsalRecords:
    """The file, on one connection in one thread of its own: SQLite takes one writer at
    a time, and writers of one process waiting on each other's locks would back off for
    up to a tenth of a second each (its busy handler sleeps)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db_of_thread: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="rehearsal-records")

    def _db(self) -> sqlite3.Connection:
        db = self._db_of_thread
        if db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # Durable across a crash of the processes (what the tests kill), not of the
            # host: a rehearsal's stand-in for a provider need not wait for the disk.
            db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                db.execute(statement)
            self._db_of_thread = db
        return db

    async def _run(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._thread, lambda: self._db().execute(sql, params).fetchall()
        )

    async def settle(
        self, intent_id: str, order_id: str, amount: int, currency: str, status: str
    ) -> None:
        """Record the intent paid or withdrawn, unless it was one of the two already."""
        await self._run(
            "INSERT INTO intents (id, order_id, amount, currency, status, updated)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (intent_id, order_id, amount, currency, status, time.time()),
        )

    async def resolve(self, intent_id: str, status: str | None) -> bool:
        """A processing intent paid (`status`) or refused (None: unrecorded, so it
        awaits payment again); False if it was not processing."""
        if status is None:
            rows = await self._run(
                "DELETE FROM intents WHERE id = ? AND status = 'processing' RETURNING id",
                (intent_id,),
            )
        else:
            rows = await self._run(
                "UPDATE intents SET status = ?, updated = ? WHERE id = ?"
                " AND status = 'processing' RETURNING id",
                (status, time.time(), intent_id),
            )
        return bool(rows)

    async def status(self, intent_id: str) -> str | None:
        rows = await self._run("SELECT status FROM intents WHERE id = ?", (intent_id,))
        return str(rows[0][0]) if rows else None

    async def intent_ids(self) -> list[str]:
        return [str(row[0]) for row in await self._run("SELECT id FROM intents ORDER BY id")]

    async def add_refund(self, row: RefundRow) -> None:
        """Record a refund sent (a second for the same intent is not recorded)."""
        await self._run(
            "INSERT INTO refunds (id, intent_id, order_id, amount, currency, status)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            row,
        )

    async def refund(self, refund_id: str) -> RefundRow | None:
        rows = await self._run(
            "SELECT id, intent_id, order_id, amount, currency, status FROM refunds WHERE id = ?",
            (refund_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return (str(r[0]), str(r[1]), str(r[2]), int(str(r[3])), str(r[4]), str(r[5]))

    async def refund_ids(self) -> list[str]:
        return [str(row[0]) for row in await self._run("SELECT id FROM refunds ORDER BY id")]
