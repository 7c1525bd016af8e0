"""Production plans and delivery promises: each launch's plan, the schedule of its queue,
the promise to each order, and the re-promise that keeps them true.

Each process keeps, per launch with a plan, a `PromiseBook`: the schedule of the queue
as last read from the store, and two tails. A new order joins the queue's back, which
moves nobody ahead of it, so the tail promises it at once; an order locking early
joins the back of the queue's front (the orders locked by then), so it too is promised
at once. Either moves the orders behind it; so do a cancellation, a plan change and an
order placed ahead of others. Each such change is marked, and a re-promise in the
background (`launchday.services.promise_keeper`) reads the queue again, schedules it
(in a worker thread), stores every promise that changed and records each move of a
week or more, with its cause, for the brand to tell the buyer. A burst of early locks
marks hundreds of changes a second: they are taken together, the re-promises paced by
what one takes. Whoever reads a promise of an order already queued (the order's page,
the quotes, a what-if) waits for a re-promise holding every change marked before it
asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple, TypeVar

import msgspec

from launchday.domain.build_queue import micros
from launchday.domain.delivery_promise import (
    Promise,
    make_promise,
    order_key,
    promise_if_placed,
    promise_of,
)
from launchday.domain.errors import NotFound, ValidationFailed
from launchday.domain.launch import Launch
from launchday.domain.order import Order
from launchday.domain.parts import NEVER
from launchday.domain.production_plan import ProductionPlan, validate_plan
from launchday.services.launches import Launches
from launchday.services.ports.delivery import (
    PRODUCTION,
    PromiseMove,
    RecordedMove,
)
from launchday.services.ports.store import WriteScope, WriteTx
from launchday.services.promise_book import PromiseBook
from launchday.services.promise_keeper import PromiseKeeper

T = TypeVar("T")
_plan_decoder = msgspec.json.Decoder(ProductionPlan)
# How long a process trusts what it read of whether a launch has a plan (other
# processes may set one).
PLAN_SECONDS = 2.0
_encode = msgspec.json.Encoder().encode


class Estimate(NamedTuple):
    """An order's promise, and for a reserved order the one it would get if it locked now."""

    promise: Promise
    if_locked_now: Promise | None = None


class Deliveries:
    """The plans and promises of every launch of one store."""

    def __init__(self, launches: Launches) -> None:
        self.launches = launches
        self.store = launches.store
        self.clock: Callable[[], datetime] = launches.clock
        self._plans: dict[str, tuple[int, ProductionPlan]] = {}
        self._checked: dict[str, float] = {}  # launch -> when its plan was last read
        self.keeper = PromiseKeeper(launches, self._plan)

    # --- the plan ------------------------------------------------------------------------

    async def put_plan(self, slug: str, plan: ProductionPlan) -> ProductionPlan:
        """Set the launch's plan (refused if it does not fit the launch) and re-promise."""
        launch = self.launches.get(slug)
        validate_plan(plan, [v.sku for v in launch.variants], _built_to_order(launch))
        stored = _encode(plan)

        def save(tx: WriteTx, now: datetime) -> int:
            return tx.save_production_plan(slug, stored, launch.clock(now))

        version = await self.store.write(save, WriteScope(slug, (PRODUCTION,)))
        self._plans[slug] = (version, plan)
        self._checked[slug] = time.monotonic()
        self.keeper.mark(slug, "the production plan changed")
        await self.keeper.repromise(slug)
        return plan

    def plan(self, slug: str) -> ProductionPlan:
        """The launch's plan, or NotFound."""
        return _planned(self._plan(slug), slug)[1]

    def _plan(self, slug: str) -> tuple[int, ProductionPlan] | None:
        """The plan and its version, read again at most every PLAN_SECONDS: every order
        asks, and most launches have none."""
        self.launches.get(slug)
        checked = self._checked.get(slug)
        if checked is not None and time.monotonic() - checked < PLAN_SECONDS:
            return self._plans.get(slug)
        stored = self.store.reads.production_plan(slug)
        self._checked[slug] = time.monotonic()
        if stored is None:
            return None
        data, version = stored
        cached = self._plans.get(slug)
        if cached is None or cached[0] != version:
            cached = self._plans[slug] = (version, _plan_decoder.decode(data))
        return cached

    def planless(self, slug: str) -> bool:
        """True when the launch surely has no plan now (checked within PLAN_SECONDS): an
        order of such a launch needs no promise, and most launches have no plan."""
        checked = self._checked.get(slug)
        return (
            checked is not None
            and slug not in self._plans
            and time.monotonic() - checked < PLAN_SECONDS
        )

    # --- promises ------------------------------------------------------------------------

    async def estimate(self, order: Order) -> Estimate | None:
        """The order's promise (None without a plan, or for a variant no line builds, or
        for a cancelled order)."""
        book = await self.keeper.book(order.launch)
        if book is not None and self.keeper.behind(order.launch, book):
            book = await self.keeper.repromise(order.launch)
        return None if book is None else await self._estimate(book, order)

    def placed_at_once(self, order: Order, now: datetime) -> Estimate | None:
        """The promise to a new order at real time `now` when the kept book gives it
        without waiting: the common case, every order of a burst (the book current, the
        order joining at the back, no order joined ahead of where a lock now would go).
        None: `placed` works it out."""
        book = self.keeper.kept_book(order.launch)
        if book is None or book.index_of(order) is not None or order.cancelled_at is not None:
            return None
        at = self.launches.get(order.launch).clock(now)
        locking = order.locked_at is None and at < order.refundable_until
        if locking and book.joined_ahead_of(order_key(book.schedule.plan, order.sku, at, -1)):
            return None
        locks_at = order.locked_at or order.refundable_until
        joined = book.tail.join(order.sku, locks_at, order.placed_at, order.sequence)
        if joined is None:
            return None
        book.count_in(order, locks_at, joined)
        self.keeper.answered_while_reading(order, joined, False)
        return Estimate(joined, _if_locked_now(book, order, at)) if locking else Estimate(joined)

    async def placed(self, order: Order) -> Estimate | None:
        """Count a new order in; its promise."""
        promised = self.placed_at_once(order, self.clock())
        if promised is not None:
            return promised
        book = await self.keeper.book(order.launch)
        locks_at = order.lock_time()
        if book is None or locks_at is None or not book.tail.builds(order.sku):
            return None
        if book.index_of(order) is not None:  # the book was read after the order was stored
            return await self._estimate(book, order)
        joined = book.tail.join(order.sku, locks_at, order.placed_at, order.sequence)
        if joined is None:  # its place is ahead of orders already promised
            self.keeper.mark(order.launch, "an order was placed ahead of others")
            return await self.estimate(order)
        book.count_in(order, locks_at, joined)
        self.keeper.answered_while_reading(order, joined, False)
        return await self._estimate(book, order)  # orders joined ahead of a lock now

    async def _estimate(self, book: PromiseBook, order: Order) -> Estimate | None:
        locks_at = order.lock_time()
        plan = book.schedule.plan
        if locks_at is None or order.cancelled_at is not None or not book.tail.builds(order.sku):
            return None
        at = self.launches.get(order.launch).clock(self.clock())
        locking = order.locked_at is None and at < order.refundable_until
        if locking:  # what locking now would promise counts every order ahead of now
            book = await self._exact(order.launch, book, order_key(plan, order.sku, at, -1))
        index = book.index_of(order)
        joined = book.joined_promise(order) if index is None else None
        if index is not None:
            promise = promise_of(book.schedule, index, order.placed_at)
        elif joined is not None:
            promise = joined
        else:  # placed by another process since the book was read: count it in
            promise = promise_if_placed(
                book.schedule, order.sku, locks_at, order.placed_at, order.sequence
            )
        if not locking:
            return Estimate(promise)
        return Estimate(promise, _if_locked_now(book, order, at))

    def changed(self, order: Order, cause: str) -> None:
        """An order was cancelled (or changed otherwise): the orders behind it move."""
        self.keeper.mark(order.launch, cause)

    async def locked(self, order: Order) -> Estimate | None:
        """An order has locked early: the orders it passed move (re-promised in the
        background), and its own promise is where it joins the queue's front."""
        self.keeper.mark(order.launch, "an order locked early")
        book = self.keeper.kept_book(order.launch)
        if book is None or order.locked_at is None or order.cancelled_at is not None:
            return await self.estimate(order)
        if micros(order.locked_at) <= book.locked_by_us:  # locked before the book's read
            index = book.index_of(order)
            if index is not None and book.has_lock_of(index, order.locked_at):
                return Estimate(promise_of(book.schedule, index, order.placed_at))
        key = order_key(book.schedule.plan, order.sku, order.locked_at, order.sequence)
        promise = None if book.joined_ahead_of(key) else book.join_front(order, order.locked_at)
        if promise is None:  # the front does not reach its lock, or a new order is ahead
            return await self.estimate(order)
        self.keeper.answered_while_reading(order, promise, True)
        return Estimate(promise)

    async def quotes(
        self, slug: str, placed_at: datetime | None = None
    ) -> tuple[datetime, dict[str, Promise]]:
        """What a new order of each variant a line builds would be promised if placed now,
        or at `placed_at` on the launch's clock (later than now) with the queue as it is."""
        launch = self.launches.get(slug)
        book = _planned(await self.keeper.book(slug), slug)
        now = launch.clock(self.clock())
        if placed_at is not None and placed_at < now:
            raise ValidationFailed("at must not be before the launch's clock now", "at")
        at = now if placed_at is None else placed_at
        quotes = {}
        for variant in launch.variants:
            if not book.schedule.plan.lines_for(variant.sku):
                continue
            locks_at = at + (variant.deposit or launch.deposit).window
            quote = book.tail.peek(variant.sku, locks_at, at)
            if quote is None:  # not at the back: the orders ahead of it decide
                key = order_key(book.schedule.plan, variant.sku, locks_at, -1)
                book = await self._exact(slug, book, key)
                quote = promise_if_placed(book.schedule, variant.sku, locks_at, at)
            quotes[variant.sku] = quote
        return at, quotes

    async def _exact(self, slug: str, book: PromiseBook, key: tuple[int, int, int]) -> PromiseBook:
        """A book whose schedule holds every order ahead of `key`: the orders that joined
        the tail are not in the schedule, so if any is ahead, schedule again."""
        if book.joined_ahead_of(key):
            return await self.keeper.repromise(slug) or book
        return book

    def moves_of(self, order: Order) -> list[PromiseMove]:
        """The moves of one order's promise, oldest first."""
        return self.store.reads.order_promise_moves(order.id)

    def moves(self, slug: str, since: datetime, limit: int) -> list[RecordedMove]:
        self.launches.get(slug)
        return self.store.reads.promise_moves(slug, since, limit)

    # --- the book ----------------------------------------------------------------------

    async def repromise(self, slug: str) -> PromiseBook | None:
        """A book holding every change marked so far (see `PromiseKeeper.repromise`)."""
        return await self.keeper.repromise(slug)

    async def stop(self) -> None:
        await self.keeper.stop()

    async def whole_queue(self, slug: str) -> PromiseBook:
        """A book whose schedule holds every queued order (for questions over all of
        them: what-ifs, risks); NotFound without a plan."""
        book = _planned(await self.keeper.book(slug), slug)
        if book.joined or book.locked or self.keeper.behind(slug, book):
            book = await self.keeper.repromise(slug) or book
        return book


def _built_to_order(launch: Launch) -> list[str]:
    return [v.sku for v in launch.variants if not v.limited]


def _planned(found: T | None, slug: str) -> T:
    """`found`, or NotFound: the launch has no production plan."""
    if found is None:
        raise NotFound(f"launch {slug!r} has no production plan", field="slug")
    return found


def _if_locked_now(book: PromiseBook, order: Order, at: datetime) -> Promise:
    """What locking at `at` would promise the order: worked out once a second per
    variant (each early lock starts again: one more order ahead), dated from the
    placement of the order that asked first, then from each other's own."""
    second = (order.sku, int(at.timestamp()))
    placed_minute = int(order.placed_at.timestamp()) // 60
    found = book.locking_now.get(second)
    if found is None:
        if len(book.locking_now) > 64:
            book.locking_now.clear()
        promise = None
        front = book.front_tail()
        if front is not None and book.front_holds(at):  # counts the locks since the book
            promise = front.peek(order.sku, at, order.placed_at, order.sequence)
        if promise is None:
            promise = promise_if_placed(
                book.schedule, order.sku, at, order.placed_at, order.sequence
            )
        found = book.locking_now[second] = (placed_minute, promise)
    dated_minute, promise = found
    # Placed in the same minute, as the orders of a burst are: the same weeks (they
    # count whole days), the very promise, whose wire form is then made once.
    if dated_minute == placed_minute:
        return promise
    dated = (order.sku, second[1], placed_minute)
    redated = book.locking_now_dated.get(dated)
    if redated is None:
        if len(book.locking_now_dated) > 256:
            book.locking_now_dated.clear()
        week = NEVER if promise.build_week is None else promise.build_week
        plan = book.schedule.plan
        redated = book.locking_now_dated[dated] = make_promise(
            plan, week, order.placed_at, promise.queue_position, promise.set_by
        )
    return redated
