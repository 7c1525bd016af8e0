"""The promise books of a process, kept true: per launch, the book as last scheduled,
the changes marked since, and the re-promise that catches up with them in the
background (see `launchday.services.delivery`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from launchday.domain.delivery_promise import Promise
from launchday.domain.order import Order
from launchday.domain.production_plan import ProductionPlan
from launchday.domain.promise_changes import PromiseColumns
from launchday.services.launches import Launches
from launchday.services.ports.delivery import PRODUCTION
from launchday.services.ports.store import WriteScope, WriteTx
from launchday.services.promise_book import (
    Changes,
    PromiseBook,
    book_of,
    built_skus,
    changes,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
# How long a process trusts the schedule it read when other processes write to the
# same store (they place orders too).
BOOK_SECONDS = 2.0
# The background re-promise waits this many times what the last one took (at least
# CATCH_UP_SECONDS) before the next: at most a twentieth of the process's time goes to
# it, for on a launch night every other share of it answers buyers.
CATCH_UP_PACE = 19.0
CATCH_UP_SECONDS = 0.05
# A loop that wakes this late from a pause, or a process that used this share of a core
# during it, is saturated: the re-promise waits, for up to DEFER_SECONDS in a row (never
# on a shared store, whose book must be read again). A loop can answer 6,000 orders a
# second waking on time, each request short; the core it uses tells the crush. A
# re-promise of the YU7's first 130,000 orders takes about half the core for 2 s (its
# read and its writes): measured in the replay, begun at +24 s (the load still 4,400
# actions a second) it sent 3,500 of them late; at 60% and up to 60 s, it waited to +45 s.
BUSY_LAG_SECONDS = 0.02
BUSY_CPU_SHARE = 0.6
DEFER_SECONDS = 60.0
# A re-promise stores its changes this many promises at a time, each part a write of
# its own: orders placed meanwhile are written between the parts, not after a launch
# night's 100,000 promises.
SAVE_ROWS = 2000
# One in the background (nobody waits for it) pauses after each of its steps (the read
# of the queue, its schedule, the comparison, each part written) this many times what
# the step took: the loop and the writer keep two thirds of their time for buyers.
# Measured in the YU7 replay at +45 s (185,000 orders queued, 161,542 promises and
# 133,557 moves to store, 2,800 actions a second), unpaced: 1 s of the core for the read
# and the comparison, then parts of 4,000 holding the writer 30-70 ms each for 1.5 s;
# 953 actions went out late.
PACE = 2.0


class PromiseKeeper:
    """Each launch's promise book, and the re-promises that keep it current."""

    def __init__(
        self, launches: Launches, plan_of: Callable[[str], tuple[int, ProductionPlan] | None]
    ) -> None:
        self.launches = launches
        self.store = launches.store
        self.clock: Callable[[], datetime] = launches.clock
        self.plan_of = plan_of  # a launch's plan and its version, None without one
        self._books: dict[str, PromiseBook] = {}
        self._repromising: dict[str, asyncio.Task[PromiseBook | None]] = {}
        # Per launch: the changes marked so far (a book holds those marked before it read
        # the queue), their causes not yet re-promised, the background re-promise, and
        # how long the last re-promise took.
        self._marks: dict[str, int] = {}
        self._causes: dict[str, set[str]] = {}
        self._catching_up: dict[str, asyncio.Task[None]] = {}
        self._took: dict[str, float] = {}
        # Per launch, while a re-promise runs: the orders promised from the tails since it
        # began (order, promise, whether it locked early), to count into the new book.
        self._answered: dict[str, list[tuple[Order, Promise, bool]]] = {}

    def mark(self, slug: str, cause: str | None) -> None:
        """A change that moves queued orders (None: made by other processes, unknown):
        books read before it are behind, and a re-promise in the background catches up."""
        self._marks[slug] = self._marks.get(slug, 0) + 1
        if cause is not None:
            self._causes.setdefault(slug, set()).add(cause)
        if slug not in self._catching_up and slug in self._books:
            task = asyncio.ensure_future(self._catch_up(slug))
            self._catching_up[slug] = task
            task.add_done_callback(lambda _: self._catching_up.pop(slug, None))

    def behind(self, slug: str, book: PromiseBook) -> bool:
        """Whether a change was marked after the book read the queue."""
        return self._marks.get(slug, 0) > book.generation

    async def _catch_up(self, slug: str) -> None:
        """Re-promise until the book holds every change marked, pausing before each
        re-promise CATCH_UP_PACE times what the last took: the changes of a burst are
        taken together, and answering buyers keeps most of the process's time. While the
        process is saturated (its loop wakes BUSY_LAG_SECONDS late or more, or it used
        BUSY_CPU_SHARE of a core), the re-promise waits, for up to DEFER_SECONDS: in a
        launch's busiest seconds every share of the process answers buyers, and a reader
        who needs the promises current asks for a re-promise of its own."""
        loop = asyncio.get_running_loop()
        deferred = 0.0
        while (book := self._books.get(slug)) is not None and self.behind(slug, book):
            pause = max(CATCH_UP_SECONDS, CATCH_UP_PACE * self._took.get(slug, 0))
            if self.store.shared:  # sooner than the book grows too old to answer
                pause = min(pause, BOOK_SECONDS / 4)
            asleep, cpu = loop.time(), time.process_time()
            await asyncio.sleep(pause)
            waited = loop.time() - asleep
            used = (time.process_time() - cpu) / waited if waited > 0 else 0.0
            late = waited - pause >= BUSY_LAG_SECONDS
            busy = (late or used >= BUSY_CPU_SHARE) and not self.store.shared
            if busy and deferred < DEFER_SECONDS:
                deferred += waited
                continue
            deferred = 0.0
            try:
                await self.repromise(slug, paced=True)
            except asyncio.CancelledError:
                raise
            except Exception:  # the next change, or the next reader, tries again
                log.exception("re-promising %s failed", slug)
                return

    async def stop(self) -> None:
        """Stop re-promising in the background (changes still marked are left to the
        next start, which reads the queue and the promises kept afresh)."""
        for task in list(self._catching_up.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def book(self, slug: str) -> PromiseBook | None:
        """The launch's book, scheduled again if it is not current; None without a plan."""
        book = self.kept_book(slug)
        if book is not None:
            return book
        return None if self.plan_of(slug) is None else await self.repromise(slug)

    def kept_book(self, slug: str) -> PromiseBook | None:
        """The book as kept, if current: of this plan's version and (when other processes
        write too) recent. A book behind on marked changes still promises new orders and
        early locks from its tails: a lock moves nobody ahead of the queue's back, and a
        cancellation only frees room, so a promise from it errs late, never early, until
        the re-promise under way corrects it."""
        book = self._books.get(slug)
        if book is None:
            return None
        found = self.plan_of(slug)
        if found is None or book.version != found[0]:
            return None
        if self.store.shared:  # other processes place and change orders too
            age = time.monotonic() - book.made_at
            if age > BOOK_SECONDS:
                return None
            if age > BOOK_SECONDS * 0.75 and not self.behind(slug, book):
                self.mark(slug, None)  # read again before it is too old to answer
        return book

    async def repromise(self, slug: str, paced: bool = False) -> PromiseBook | None:
        """A book holding every change marked so far: scheduled again, with the promises
        that changed stored and each move of a week or more recorded. One at a time per
        launch; callers share it, and those who asked after it read the queue wait for
        the next. `paced`: its steps spaced out (PACE), for one in the background that
        nobody waits for."""
        wanted = self._marks.get(slug, 0)
        while True:
            running = self._repromising.get(slug)
            # One that has finished, its done-callbacks not yet run, is not running: a
            # stale one awaited again would hand back its book without ever yielding to
            # the loop that runs them, spinning here for good.
            if running is None or running.done():
                running = asyncio.ensure_future(self._repromise(slug, paced))
                self._repromising[slug] = running
                running.add_done_callback(lambda done: self._done_repromising(slug, done))
            book = await asyncio.shield(running)
            if book is None or book.generation >= wanted:
                return book

    def _done_repromising(self, slug: str, done: asyncio.Task[PromiseBook | None]) -> None:
        if self._repromising.get(slug) is done:
            del self._repromising[slug]

    async def _repromise(self, slug: str, paced: bool) -> PromiseBook | None:
        found = self.plan_of(slug)
        if found is None:
            return None
        version, plan = found
        launch = self.launches.get(slug)
        started = time.monotonic()
        # Every change marked by now is in the store: the queue read below holds it.
        generation = self._marks.get(slug, 0)
        self._answered[slug] = []
        causes = self._causes.pop(slug, set())
        old = self._books.get(slug)
        if old is None or old.version != version:
            causes.add("the production plan changed")
        step, saved = Steps(paced), False
        try:
            at = launch.clock(self.clock())
            # On the primary, never a report's standby: the book must hold every order
            # and lock committed up to now, or promises would be made against a stale queue.
            queued = await step(
                self.store.read_in_thread(lambda reads: reads.build_queue(slug, built_skus(plan)))
            )
            book = await step(asyncio.to_thread(book_of, version, generation, plan, queued, at))
            # Its front scheduled in a worker thread too, not by the first lock to need it:
            # on the event loop, a front of 100,000 locked orders held every request behind
            # it for the tens of milliseconds its schedule takes.
            await step(asyncio.to_thread(book.front_tail))
            kept, given = await step(self._kept_and_given(slug, old))
            cause = ", ".join(sorted(causes)) or "the queue changed"
            diff = await step(asyncio.to_thread(changes, book, kept, at, cause, given))
            for part in diff.parts(SAVE_ROWS) if diff else []:
                await step(self.store.write(_saving(slug, part), WriteScope(slug, (PRODUCTION,))))
                saved = True
        except BaseException:
            self._causes.setdefault(slug, set()).update(causes)  # for the next one to tell
            self._answered.pop(slug, None)
            if saved:  # what is stored is ahead of this book: the next compares with it
                self._books.pop(slug, None)
            raise
        self._books[slug] = book
        self._carry_over(book, self._answered.pop(slug, []))
        # The pace of the next is set by the work, not by the pauses between its steps.
        self._took[slug] = time.monotonic() - started - step.paused
        return book

    def answered_while_reading(self, order: Order, promise: Promise, locked: bool) -> None:
        answered = self._answered.get(order.launch)
        if answered is not None:
            answered.append((order, promise, locked))

    def _carry_over(self, book: PromiseBook, answered: list[tuple[Order, Promise, bool]]) -> None:
        """Count into a new book the orders promised from the old one's tails while it
        read the queue, that its read missed (stored a moment after): each joins the new
        tails as it joined the old, keeping the promise it was told. One whose place is
        no longer at a back waits for the next re-promise."""
        for order, told, locked in answered:
            index = book.index_of(order)
            if locked and order.locked_at is not None:
                if index is not None and book.has_lock_of(index, order.locked_at):
                    continue
                joined = book.join_front(order, order.locked_at)
                if joined is not None:
                    book.count_locked(order, told)
                    continue
            elif index is None and (locks_at := order.lock_time()) is not None:
                if book.tail.join(order.sku, locks_at, order.placed_at, order.sequence):
                    book.count_in(order, locks_at, told)
                    continue
            else:
                continue
            self.mark(
                order.launch,
                "an order locked early" if locked else "an order was placed ahead of others",
            )

    async def _kept_and_given(
        self, slug: str, old: PromiseBook | None
    ) -> tuple[PromiseColumns, PromiseColumns | None]:
        """The promises stored, and those told buyers (maybe not stored yet). When this
        process alone writes, what is stored is what its last book scheduled: no need to
        read a launch night's hundreds of thousands of promises back."""
        if old is None:
            kept = await self.store.read_in_thread(lambda reads: reads.stored_promises(slug))
            return kept, None
        told_since = old.told_since()  # here: the loop adds to it meanwhile
        scheduled = await asyncio.to_thread(old.scheduled)
        given = await asyncio.to_thread(old.given, scheduled, told_since)
        if self.store.shared:
            kept = await self.store.read_in_thread(lambda reads: reads.stored_promises(slug))
        else:
            kept = scheduled
        return kept, given


class Steps:
    """Awaits the steps of a re-promise; paced, pauses after each PACE times what it took
    (`sleep`: how it pauses)."""

    def __init__(
        self, paced: bool, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.paced = paced
        self.paused = 0.0
        self._sleep = sleep

    async def __call__(self, step: Awaitable[T]) -> T:
        started = time.monotonic()
        done = await step
        if self.paced:
            pause = PACE * (time.monotonic() - started)
            await self._sleep(pause)
            self.paused += pause
        return done


def _saving(slug: str, part: Changes) -> Callable[[WriteTx, datetime], None]:
    """The write of one part of a re-promise's changes."""

    def save(tx: WriteTx, now: datetime) -> None:
        tx.forget_promises(slug, part.gone)
        tx.save_promises(slug, part.promises, part.moves)

    return save
