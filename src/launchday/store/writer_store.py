"""What a store is on either database: one writer thread committing batches of writes,
the read model for the event loop, and long reads on a connection of their own (a
report's maybe on a standby: PostgreSQL's adapter says when).

`SQLiteStore` and `PostgresStore` add what is their own: how they connect and migrate,
where the secret is kept, and how a batch runs in a transaction (`run`, `rollback`,
`connection_lost`, the `BatchTransaction` of `launchday.store.batch`).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from launchday.services.ports.store import WriteScope
from launchday.store.batch import BatchCommitter
from launchday.store.group_commit import GroupCommit, Job, Outcome
from launchday.store.reads import LoopReads, SnapshotReads
from launchday.store.sql import Connection, ReadConnection

T = TypeVar("T")
Tx = TypeVar("Tx")


@dataclass(frozen=True, slots=True)
class WriterLimits:
    """How many writes one batch commits at most, and how many may wait (then 503)."""

    max_batch: int = 2048
    max_pending: int = 50_000


DEFAULT_LIMITS = WriterLimits()


class WriterStore(ABC, Generic[Tx]):
    """The services' `Store` over one writer thread (see the module); `Tx` is the write
    transaction the adapter hands each write."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        limits: WriterLimits,
        on_commit: Callable[[int], None] | None,
    ) -> None:
        self._clock = clock
        self._conn: Any = None  # the writer's connection, opened by `start`
        self._reads: LoopReads | None = None
        self._batches = BatchCommitter(self, on_commit)
        self._writer: GroupCommit[Callable[[Tx, datetime], Any]] = GroupCommit(
            "launchday-writer",
            self._batches.commit,
            max_batch=limits.max_batch,
            max_pending=limits.max_pending,
            on_stop=self._close_writer,
        )

    def set_commit_observer(self, on_commit: Callable[[int], None]) -> None:
        """Call `on_commit(writes)` after every committed transaction (writer thread)."""
        self._batches.on_commit = on_commit

    @property
    def reads(self) -> LoopReads:
        assert self._reads is not None, "store not started"
        return self._reads

    def pending_writes(self) -> int:
        return self._writer.pending

    async def write(self, fn: Callable[[Tx, datetime], T], scope: WriteScope | None = None) -> T:
        """Run `fn` in the next batch; return once the batch has committed durably."""
        result: T = await self._writer.submit(fn, scope)
        return result

    async def read_in_thread(self, fn: Callable[[SnapshotReads], T]) -> T:
        """Run `fn` in a worker thread on a connection of its own (long reads, such as
        reports, must not hold up the event loop)."""
        return await asyncio.to_thread(self._read, fn)

    async def report_in_thread(self, fn: Callable[[SnapshotReads], T]) -> T:
        """As `read_in_thread`, on the database's standby when it has one and has
        replayed every commit made so far (`_report`)."""
        return await asyncio.to_thread(self._report, fn)

    def _read(self, fn: Callable[[SnapshotReads], T]) -> T:
        """`fn` on a new connection to the database (a worker thread)."""
        conn = self._read_connection()
        try:
            return fn(SnapshotReads(ReadConnection(conn)))
        finally:
            conn.close()

    def _report(self, fn: Callable[[SnapshotReads], T]) -> T:
        """`fn` for a report (a worker thread): on the database itself unless the adapter
        has a standby to read from."""
        return self._read(fn)

    async def stop(self) -> None:
        """Finish the queued writes, then close every connection."""
        await self._writer.stop()
        self._close_reads()
        self._reads = None

    def _close_writer(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @abstractmethod
    def _close_reads(self) -> None:
        """Close the read model's connections."""

    @abstractmethod
    def _read_connection(self) -> Connection:
        """A new connection for reads only, which the caller closes."""

    @abstractmethod
    def run(
        self, jobs: list[Job[Callable[[Tx, datetime], Any]]], *, isolate: bool
    ) -> list[Outcome]:
        """Run a batch's jobs in one transaction (the writer thread)."""

    @abstractmethod
    def rollback(self) -> None:
        """Undo a failed batch's transaction."""

    @abstractmethod
    def connection_lost(self, error: BaseException) -> bool:
        """Whether `error` means the writer's connection is gone."""
