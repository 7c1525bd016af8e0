"""Group commit: one writer thread runs queued write functions in shared transactions.

Requests put their write functions on a queue; the writer takes everything waiting,
hands the batch to its database's `commit_batch` (one transaction, one durable
commit), and only then resolves the callers' futures on their event loop. Many
writes share one sync to disk, so durability costs little.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from launchday.services.ports.store import Overloaded, WriteScope

T = TypeVar("T")
Fn = TypeVar("Fn")

# A batch's outcomes, one per job in order: (True, result) or (False, exception).
Outcome = tuple[bool, Any]


@dataclass(slots=True)
class Job(Generic[Fn]):
    fn: Fn
    scope: WriteScope | None
    future: asyncio.Future[Any]


_STOP = object()


class GroupCommit(Generic[Fn]):
    """The queue and the writer thread; the database's part is `commit_batch`."""

    def __init__(
        self,
        name: str,
        commit_batch: Callable[[list[Job[Fn]]], Sequence[Outcome]],
        *,
        max_batch: int,
        max_pending: int,
        on_stop: Callable[[], None] = lambda: None,
    ) -> None:
        self._name = name
        self._commit_batch = commit_batch
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._on_stop = on_stop
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()  # lists of jobs, or _STOP
        self._outbox: list[Job[Fn]] = []  # this event-loop turn's writes, not yet handed over
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pending(self) -> int:
        return self._pending

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        if self._thread is None:
            return
        self._hand_over()
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._thread = None

    async def submit(self, fn: Fn, scope: WriteScope | None) -> Any:
        if self._pending >= self._max_pending:
            raise Overloaded()
        assert self._loop is not None, "store not started"
        future: asyncio.Future[Any] = self._loop.create_future()
        self._pending += 1
        if not self._outbox:
            self._loop.call_soon(self._hand_over)
        self._outbox.append(Job(fn, scope, future))
        return await future

    def _hand_over(self) -> None:
        """Pass the writes queued during this turn of the event loop to the writer at once:
        waking the writer thread costs a system call, and one per write adds up."""
        if self._outbox:
            self._queue.put(self._outbox)
            self._outbox = []

    def _run(self) -> None:
        waiting: list[Job[Fn]] = []  # handed over, beyond the last batch's max_batch
        stopping = False
        try:
            while not stopping or waiting:
                if not waiting:
                    first = self._queue.get()
                    if first is _STOP:
                        break
                    waiting = first
                while len(waiting) < self._max_batch and not stopping:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stopping = True
                    else:
                        waiting += item
                batch, waiting = waiting[: self._max_batch], waiting[self._max_batch :]
                outcomes = self._commit_batch(batch)
                assert self._loop is not None
                try:
                    self._loop.call_soon_threadsafe(self._settle, batch, outcomes)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return
        finally:
            self._on_stop()

    def _settle(self, batch: list[Job[Fn]], outcomes: Sequence[Outcome]) -> None:
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            self._pending -= 1
            if job.future.cancelled():
                continue
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
