"""A launch's promise book: its queue's schedule as one process knows it, and what a new
schedule changes against the promises kept.

The book is made from the queue as read from the store; its tail then promises each
order placed by this process at once. A re-promise makes a new book and compares its
promises with those kept (and, for orders whose promise was given but not yet kept, with
what the old book gave), over the whole queue as numpy columns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from launchday.domain.build_queue import BuildQueue
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
from launchday.domain.queue_tail import QueueTail
from launchday.services.ports.delivery import MoveUpdates, PromiseUpdates, QueuedOrderRow

Ints = NDArray[np.int64]


@dataclass(slots=True)
class PromiseBook:
    """A launch's schedule as this process knows it, and the orders it promised since."""

    version: int
    schedule: Schedule
    ids: list[str]
    seq: Ints
    placed_us: Ints
    index: dict[str, int]
    tail: QueueTail
    # The orders that joined the tail, by sequence: build week and first promised week
    # (NONE past the horizon), place in the queue, and what sets the week. Plain tuples of
    # numbers and strings, which the garbage collector stops tracking (a named tuple it
    # tracks for ever): a launch night keeps hundreds of thousands of them.
    joined: dict[int, tuple[int, int, int, str, str, str | None]] = field(default_factory=dict)
    first_joined: tuple[int, int, int] | None = None  # the place of the first of them
    causes: set[str] = field(default_factory=set)
    made_at: float = field(default_factory=time.monotonic)
    # What locking now would promise, per variant and second of launch time: the same
    # for every reserved order of that variant (only orders locked by now are ahead).
    locking_now: dict[tuple[str, int], Promise] = field(default_factory=dict)
    # ...dated from a placement, per variant, second and minute placed.
    locking_now_dated: dict[tuple[str, int, int], Promise] = field(default_factory=dict)

    def count_in(self, order: Order, locks_at: datetime, promise: Promise) -> None:
        """An order that joined the tail, promised `promise`."""
        week, weeks, by = promise.build_week, promise.weeks, promise.set_by
        self.joined[order.sequence] = (
            NONE if week is None else week,
            NONE if weeks is None else weeks[0],
            promise.queue_position,
            by.kind,
            by.id,
            by.supplier,
        )
        if self.first_joined is None:
            plan = self.schedule.plan
            self.first_joined = order_key(plan, order.sku, locks_at, order.sequence)

    def joined_promise(self, order: Order) -> Promise | None:
        """The promise to an order that joined the tail, if it did."""
        found = self.joined.get(order.sequence)
        if found is None:
            return None
        week, _, position, kind, id, supplier = found
        plan = self.schedule.plan
        week = NEVER if week == NONE else week
        return make_promise(plan, week, order.placed_at, position, SetBy(kind, id, supplier))

    def joined_ahead_of(self, key: tuple[int, int, int]) -> bool:
        """Whether an order that joined the tail comes before an order with this place:
        then the schedule does not hold every order ahead of it."""
        return self.first_joined is not None and self.first_joined < key

    @property
    def stale(self) -> bool:
        return bool(self.causes)

    def given(self) -> PromiseColumns:
        """Every promise this book gave: to the orders it scheduled and those that joined."""
        scheduled = schedule_promises(self.schedule, self.seq, self.placed_us)
        if not self.joined:
            return scheduled
        columns = np.array([found[:2] for found in self.joined.values()], dtype=np.int64)
        seqs = np.fromiter(self.joined, dtype=np.int64, count=len(self.joined))
        joined = PromiseColumns.of(seqs, columns[:, 0], columns[:, 1])
        return joined.with_fallback(scheduled)


def book_of(
    version: int, plan: ProductionPlan, rows: list[QueuedOrderRow], at: datetime
) -> PromiseBook:
    """The schedule of the orders of variants a line builds, from the current week."""
    built = {sku for line in plan.lines for sku in line.skus}
    rows = [row for row in rows if row.sku in built]
    skus = tuple(sorted(built))
    position = {sku: i for i, sku in enumerate(skus)}
    seq = np.array([row.seq for row in rows], dtype=np.int64)
    queue = BuildQueue(
        skus,
        np.array([position[row.sku] for row in rows], dtype=np.int64),
        np.array([row.locks_at_us for row in rows], dtype=np.int64),
        seq,
    )
    made = schedule(plan, queue, plan.week_of(at))
    ids = [row.id for row in rows]
    placed = np.array([row.placed_at_us for row in rows], dtype=np.int64)
    index = {id: i for i, id in enumerate(ids)}
    return PromiseBook(version, made, ids, seq, placed, index, QueueTail(made))


@dataclass(frozen=True, slots=True)
class Changes:
    """What a re-promise writes: the promises to keep, the moves, the orders gone."""

    promises: PromiseUpdates
    moves: MoveUpdates
    gone: list[int]


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
