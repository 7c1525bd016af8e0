"""A launch's promise book: its queue's schedule as one process knows it, and what a new
schedule changes against the promises kept.

The book is made from the queue as read from the store; its tail then promises each
order placed by this process at once, and the tail of its front (the orders locked by
when it was made) each order that locks early. A re-promise makes a new book and
compares its promises with those kept (and, for orders whose promise was given but not
yet kept, with what the old book gave), over the whole queue as numpy columns.
"""

from __future__ import annotations

import itertools
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from launchday.domain.build_queue import BuildQueue, micros
from launchday.domain.build_schedule import BY_COMPONENT, Schedule, schedule
from launchday.domain.delivery_promise import (
    Promise,
    SetBy,
    make_promise,
    order_key,
    promised_weeks,
)
from launchday.domain.order import Order
from launchday.domain.parts import NEVER
from launchday.domain.production_plan import ProductionPlan
from launchday.domain.promise_changes import NONE, PromiseColumns, compare, schedule_promises
from launchday.domain.queue_tail import UNBOUNDED, QueueTail
from launchday.services.ports.delivery import MoveUpdates, PromiseUpdates, QueuedOrders

Ints = NDArray[np.int64]
# The orders that joined a book's tail and those that locked early since it was made, by
# sequence, each with the promise it was told (packed: `_told`).
ToldSince = tuple[dict[int, int], dict[int, int]]
# A promise told is kept as one int: build week and first promised week (plus one, so
# NONE is 0) in the low bits, what sets the week and the queue place above them. An int
# is never tracked by the garbage collector, which a tuple is until a collection looks at
# it: the YU7 replay's crush kept a tuple an order and one a lock, and they filled every
# young generation, each collection of 50,000 of them holding the process 15-35 ms.
_WEEK_BITS = 24
_WEEK_MASK = (1 << _WEEK_BITS) - 1
_WEEKS_MASK = (1 << 2 * _WEEK_BITS) - 1


@dataclass(slots=True)
class PromiseBook:
    """A launch's schedule as this process knows it, and the orders it promised since."""

    version: int
    generation: int  # the changes to the queue marked when it was read (see PromiseKeeper)
    locked_by_us: int  # its moment on the launch's clock: orders locked by then are in it
    schedule: Schedule
    seq: Ints  # the orders' sequences, ascending: an order's index in the queue's columns
    placed_us: Ints
    tail: QueueTail
    last_seq: int  # the last of `seq` (-1 for none), as a plain number: every order asks
    # The orders that joined the tail, by sequence: build week and first promised week
    # (NONE past the horizon), place in the queue, and what sets the week (an index into
    # `set_bys`), packed in an int (`_told`): a launch night keeps hundreds of thousands.
    joined: dict[int, int] = field(default_factory=dict)
    first_joined: tuple[int, int, int] | None = None  # the place of the first of them
    set_bys: list[SetBy] = field(default_factory=list)
    set_by_index: dict[SetBy, int] = field(default_factory=dict)
    # The orders that locked early since, as told: build week and first promised week.
    locked: dict[int, int] = field(default_factory=dict)
    front: QueueTail | None = None  # the tail of its front, made when first asked for
    front_until: int = 0  # the first lock time after the front's: reserved orders' turn
    made_at: float = field(default_factory=time.monotonic)
    # What locking now would promise, per variant and second of launch time: the same
    # for every reserved order of that variant (only orders locked by now are ahead),
    # with the minute it is dated from (that of the placement it was worked out for).
    locking_now: dict[tuple[str, int], tuple[int, Promise]] = field(default_factory=dict)
    # ...dated from a placement, per variant, second and minute placed.
    locking_now_dated: dict[tuple[str, int, int], Promise] = field(default_factory=dict)

    def index_of(self, order: Order) -> int | None:
        """The order's index in the book's queue; None if the book's read lacks it."""
        sequence, seq = order.sequence, self.seq
        if sequence > self.last_seq:  # placed since the book's read: the common case
            return None
        at = int(seq.searchsorted(sequence))
        return at if at < len(seq) and seq[at] == sequence else None

    def count_in(self, order: Order, locks_at: datetime, promise: Promise) -> None:
        """An order that joined the tail, promised `promise`."""
        by = promise.set_by
        index = self.set_by_index.get(by)
        if index is None:
            index = self.set_by_index[by] = len(self.set_bys)
            self.set_bys.append(by)
        self.joined[order.sequence] = _told(promise, index)
        if self.first_joined is None:
            plan = self.schedule.plan
            self.first_joined = order_key(plan, order.sku, locks_at, order.sequence)

    def joined_promise(self, order: Order) -> Promise | None:
        """The promise to an order that joined the tail, if it did."""
        told = self.joined.get(order.sequence)
        if told is None:
            return None
        week = (told >> _WEEK_BITS & _WEEK_MASK) - 1
        position, by = divmod(told >> 2 * _WEEK_BITS, 1 << _WEEK_BITS)
        week = NEVER if week == NONE else week
        return make_promise(self.schedule.plan, week, order.placed_at, position, self.set_bys[by])

    def joined_ahead_of(self, key: tuple[int, int, int]) -> bool:
        """Whether an order that joined the tail comes before an order with this place:
        then the schedule does not hold every order ahead of it."""
        return self.first_joined is not None and self.first_joined < key

    def front_tail(self) -> QueueTail | None:
        """Where an order locking early goes: behind every order locked by the book's
        moment (and those of priority variants), ahead of every reserved one. The front
        is scheduled on its own once (an order's week depends only on the orders ahead
        of it), then each early lock joins its back, as a new order joins the queue's.
        None when the plan puts variants first: their locks would not be at the back."""
        if self.front is None and not self.schedule.plan.priority_skus:
            made = self.schedule
            queue = made.queue
            ahead = queue.locks_at <= self.locked_by_us
            later = queue.locks_at[~ahead]
            self.front_until = int(later.min()) if len(later) else UNBOUNDED
            front = BuildQueue(
                queue.skus, queue.sku[ahead], queue.locks_at[ahead], queue.sequence[ahead]
            )
            self.front = QueueTail(schedule(made.plan, front, made.start))
        return self.front

    def front_holds(self, locks_at: datetime) -> bool:
        """Whether an order locking at `locks_at` goes at the front's back: no reserved
        order's window ends between the book's moment and then."""
        return micros(locks_at) < self.front_until

    def join_front(self, order: Order, locked_at: datetime) -> Promise | None:
        """The promise to an order that locked at `locked_at`, joining the front's back,
        now counted in; None if the front does not reach then (see `front_holds`)."""
        front = self.front_tail()
        if front is None or not self.front_holds(locked_at):
            return None
        # Behind every lock the front holds, even those of the same moment: the locks
        # committed together share it and come here in the order they were written, not
        # by sequence (nine in ten of the YU7 replay's early locks, each then tried at its
        # own place first, in vain). Late by those few places at worst, until the next
        # re-promise.
        promise = front.join(order.sku, locked_at, order.placed_at, -1)
        if promise is None:
            # Locked as the book read the queue, but not in what it read, behind orders
            # locked a moment later: promised at the back, late by those few at worst.
            promise = front.join(order.sku, max(locked_at, front.back()), order.placed_at, -1)
        if promise is not None:
            self.count_locked(order, promise)
        return promise

    def count_locked(self, order: Order, promise: Promise) -> None:
        """An order that locked early, told `promise` before the book was made again."""
        self.locked[order.sequence] = _told(promise, 0)
        self.locking_now.clear()  # one more order ahead of every lock from now on
        self.locking_now_dated.clear()

    def has_lock_of(self, index: int, locked_at: datetime) -> bool:
        """Whether the book's queue holds this order (at `index`) as locked at `locked_at`."""
        return int(self.schedule.queue.locks_at[index]) == micros(locked_at)

    def scheduled(self) -> PromiseColumns:
        """The promises of the orders the book scheduled (what its re-promise kept)."""
        return schedule_promises(self.schedule, self.seq, self.placed_us)

    def told_since(self) -> ToldSince:
        """What the book told orders since it was made, as it stands now: taken on the
        event loop, which adds to it, and made into columns elsewhere (`given`). Copies
        of the dicts, never lists of their items: 190,000 orders joined and 150,000
        locks, as the YU7 replay holds a minute in, take 4 ms to copy here and 21 ms
        to list, a tuple an item, on the loop."""
        return self.joined.copy(), self.locked.copy()

    def given(
        self, scheduled: PromiseColumns | None = None, told_since: ToldSince | None = None
    ) -> PromiseColumns:
        """Every promise this book gave: to the orders it scheduled, those that joined and
        those that locked since (`scheduled`: the first, if worked out already;
        `told_since`: the others, if taken already)."""
        if scheduled is None:
            scheduled = self.scheduled()
        joined, locked = self.told_since() if told_since is None else told_since
        if not joined and not locked:
            return scheduled
        # An order that joined and then locked counts as joined (the stable sort keeps the
        # first): its lock's move is recorded against the promise it was placed with.
        count = len(joined) + len(locked)
        seq = np.fromiter(itertools.chain(joined, locked), np.int64, count)
        told = itertools.chain(joined.values(), locked.values())
        weeks = np.fromiter((packed & _WEEKS_MASK for packed in told), np.int64, count)
        build, first = (weeks >> _WEEK_BITS) - 1, (weeks & _WEEK_MASK) - 1
        return PromiseColumns.of(seq, build, first).with_fallback(scheduled)


def _told(promise: Promise, set_by: int) -> int:
    """A promise told, packed: its build week and first promised week (each plus one, 0
    for none), what sets the week (`set_by`, an index) and its queue place."""
    week, weeks = promise.build_week, promise.weeks
    build = 0 if week is None else week + 1
    first = 0 if weeks is None else weeks[0] + 1
    if build > _WEEK_MASK or first > _WEEK_MASK or set_by > _WEEK_MASK:
        raise ValueError(f"a week or cause beyond what a promise keeps: {promise}")
    above = (promise.queue_position << _WEEK_BITS | set_by) << 2 * _WEEK_BITS
    return above | build << _WEEK_BITS | first


def built_skus(plan: ProductionPlan) -> tuple[str, ...]:
    """The variants a line of the plan builds: those whose orders the book schedules."""
    return tuple(sorted({sku for line in plan.lines for sku in line.skus}))


def book_of(
    version: int, generation: int, plan: ProductionPlan, orders: QueuedOrders, at: datetime
) -> PromiseBook:
    """The schedule of the orders of the variants a line builds (`built_skus`), from the
    current week (`at`, on the launch's clock). Its front is left to schedule
    (`front_tail`), off the event loop, before the book answers a lock."""
    queue = BuildQueue(built_skus(plan), orders.sku, orders.locks_at_us, orders.seq)
    made = schedule(plan, queue, plan.week_of(at))
    tail = QueueTail(made)
    last = int(orders.seq[-1]) if len(orders.seq) else -1
    return PromiseBook(
        version, generation, micros(at), made, orders.seq, orders.placed_at_us, tail, last
    )


@dataclass(frozen=True, slots=True)
class Changes:
    """What a re-promise writes: the promises to keep, the moves, the orders gone."""

    promises: PromiseUpdates
    moves: MoveUpdates
    gone: list[int]

    def __bool__(self) -> bool:
        return bool(self.promises.order_seq or self.moves.order_seq or self.gone)

    def parts(self, size: int) -> list[Changes]:
        """The changes in parts of at most `size` promises, in order of sequence, each
        with the moves of its orders: written one by one, the orders placed meanwhile are
        written between them. A part holds every move of its orders, so a part is kept
        whole or not at all."""
        seqs, moved = self.promises.order_seq, self.moves.order_seq
        if len(seqs) <= size:
            return [self]
        parts, first_move = [], 0
        for start in range(0, len(seqs), size):
            stop = min(start + size, len(seqs))
            # An order moves only if its promise changed; the last part takes any other.
            last_move = bisect_right(moved, seqs[stop - 1]) if stop < len(seqs) else len(moved)
            parts.append(
                Changes(
                    self.promises.part(start, stop),
                    self.moves.part(first_move, last_move),
                    self.gone if start == 0 else [],
                )
            )
            first_move = last_move
        return parts


def changes(
    book: PromiseBook,
    kept: PromiseColumns,
    at: datetime,
    cause: str,
    given: PromiseColumns | None = None,
) -> Changes:
    """The book's promises against those kept: new or changed ones to keep, and each move
    of a week or more, with its cause, against what buyers were told (`given`: promised
    but not yet kept). Columns throughout: a supply change may move them all."""
    made, plan = book.schedule, book.schedule.plan
    build = np.where(made.week < NEVER, made.week, NONE)
    first = promised_weeks(made, book.placed_us)
    diff = compare(book.seq, build, first, kept)
    told = diff if given is None else compare(book.seq, build, first, kept.with_fallback(given))
    window = plan.window_weeks
    kinds, ids, suppliers = _set_by(made)
    changed, moved = diff.changed, told.moved
    promises = PromiseUpdates(
        book.seq[changed].tolist(),
        _maybe(build[changed]),
        _maybe(first[changed]),
        _maybe(first[changed], window),
        kinds[changed].tolist(),
        ids[changed].tolist(),
        suppliers[changed].tolist(),
    )
    moves = MoveUpdates(
        at,
        cause,
        book.seq[moved].tolist(),
        _maybe(told.moved_from),
        _maybe(told.moved_from, window),
        _maybe(first[moved]),
        _maybe(first[moved], window),
    )
    return Changes(promises, moves, diff.gone.tolist())


def _maybe(weeks: Ints, plus: int = 0) -> list[int | None]:
    """Weeks as kept: None past the horizon."""
    return [None if week == NONE else week + plus for week in weeks.tolist()]


def _set_by(made: Schedule) -> tuple[NDArray[np.object_], NDArray[np.object_], NDArray[np.object_]]:
    """What sets each order's week, as the words kept: kind, id and supplier (columns)."""
    plan, queue = made.plan, made.queue
    by_part = made.set_by == BY_COMPONENT
    kinds = np.where(by_part, "component", "line").astype(object)
    # A line index, or for an order no line builds in the horizon its variant's first line.
    first_line = np.array(
        [
            plan.lines.index(plan.lines_for(sku)[0]) if plan.lines_for(sku) else 0
            for sku in queue.skus
        ],
        dtype=np.int64,
    )
    line = np.where(made.line >= 0, made.line, first_line[queue.sku] if len(queue.skus) else 0)
    line_ids = np.array([each.id for each in plan.lines], dtype=object)
    ids = line_ids[line]
    suppliers = np.full(len(made.week), None, dtype=object)
    for index, component in enumerate(plan.components):
        mine = by_part & (made.component == index)
        if not mine.any():
            continue
        ids[mine] = component.id
        names = np.array([s.id for s in component.suppliers] + [None], dtype=object)
        suppliers[mine] = names[made.supplier[mine]]  # -1: the None at the end, from stock
    return kinds, ids, suppliers
