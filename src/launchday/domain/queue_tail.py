"""The queue's tail: where an order joining at the back of the build queue goes, in
constant time, without scheduling again.

A new order's place is at the back (it locks when its window ends, after everyone
before it), and an order's week depends only on the orders ahead of it, so its promise
is the first week, from when it locks and its parts come, with room left on one of its
lines after everything the schedule built. Placing an order asks this, so it is kept in
plain Python structures: the room left per line and week, each component's cumulative
supply, and per line a pointer past the weeks already full (found again in amortized
constant time, as a disjoint-set "next free slot" does).
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime

from launchday.domain.build_queue import micros
from launchday.domain.build_schedule import Schedule
from launchday.domain.clock import from_micros
from launchday.domain.delivery_promise import (
    Promise,
    SetBy,
    make_promise,
    order_key,
    release_week,
)
from launchday.domain.parts import NEVER
from launchday.domain.production_plan import Component, rate_in

# Entries of the per-minute memos before they start again: a launch's burst needs a few.
MEMO_SIZE = 1024
_new_tuple = tuple.__new__
MINUTE_US = 60_000_000
UNBOUNDED = 1 << 62  # a run no part bounds
_NO_CAUSE = SetBy("line", "")  # of a window memo's promise: its weeks and days are read


class _Part:
    """A component as the tail reads it: how many a car uses, its supply week by week."""

    __slots__ = ("component", "count", "deliveries", "index", "there_by")

    def __init__(
        self,
        index: int,
        component: Component,
        count: int,
        there_by: list[int],
        deliveries: list[list[int]],
    ) -> None:
        self.index = index
        self.component = component
        self.count = count
        self.there_by = there_by  # units there by the end of each week from the start
        self.deliveries = deliveries  # per week, each supplier's units


class _Run:
    """The orders of a burst (one variant, locking in the same minute) get the same week,
    line and cause while the line has room that week and for `left` more of them (until
    a part's supply of the week it arrives, or the supplier of the part that sets the
    week, runs out): they take a place without working it out again. A night's variants
    come in turn, so each keeps its own run: the line's room is read afresh at each take
    (another variant may have taken it), and a take of a part another variant needs ends
    that variant's run. The promise is dated from each order's placement, kept for the
    minute placed last: early locks come from orders placed in many minutes."""

    __slots__ = (
        "left",
        "line",
        "lock_minute",
        "offset",
        "parts",
        "placed_minute",
        "promise",
        "rank",
        "sku",
    )

    def __init__(
        self,
        sku: str,
        rank: int,
        lock_minute: int,
        line: int,
        offset: int,
        parts: list[_Part],
        left: int,
        promise: Promise,
        placed_minute: int,
    ) -> None:
        self.sku, self.rank, self.lock_minute = sku, rank, lock_minute
        self.line, self.offset, self.parts, self.left = line, offset, parts, left
        self.promise, self.placed_minute = promise, placed_minute  # dated from that minute


class QueueTail:
    """The room a schedule leaves after all its orders (see the module). An order whose
    place is not at the back (an earlier lock, a priority variant) is not for the tail:
    `join` returns None and the schedule must be worked out again."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        plan, start, end = schedule.plan, schedule.start, schedule.end
        self._weeks = end - start
        self._free = [
            [rate_in(line.capacity, week) for week in range(start, end)] for line in plan.lines
        ]
        for runs in schedule.built_by_sku:
            for run in runs:
                self._free[run.line][run.week - start] -= run.count
        self._skip = [list(range(1, self._weeks + 1)) for _ in plan.lines]
        skus = {sku for line in plan.lines for sku in line.skus}
        self._lines = {
            sku: [i for i, line in enumerate(plan.lines) if sku in line.skus] for sku in skus
        }
        parts = []
        for index, demand in enumerate(schedule.parts.demands):
            supply = demand.supply
            deliveries = supply.deliveries.T.tolist()
            parts.append((index, supply.component, supply.there_by.tolist(), deliveries))
        self._parts = {
            sku: [
                _Part(index, component, component.use_by(sku), there_by, deliveries)
                for index, component, there_by, deliveries in parts
                if component.use_by(sku) > 0
            ]
            for sku in skus
        }
        used = {sku: {part.index for part in self._parts[sku]} for sku in skus}
        # Per variant, the other variants needing one of its parts.
        self._sharing = {
            sku: {other for other in skus if other != sku and used[sku] & used[other]}
            for sku in skus
        }
        self._needed = [
            int(d.needed_by[-1]) if len(d.needed_by) else 0 for d in schedule.parts.demands
        ]
        self._last = _last_key(schedule)
        self._scheduled = len(schedule.queue)  # orders ahead of the first to join
        self.joined = 0
        self._released: dict[int, int] = {}  # release week per minute of locking
        self._windows: dict[tuple[int, int], Promise] = {}  # per build week, minute placed
        self._set_bys: dict[tuple[str, str, str | None], SetBy] = {}
        self._runs: dict[str, _Run] = {}  # per variant, its burst's run

    def back(self) -> datetime:
        """When the order at the back locks (or locked): an order joining behind it at
        this moment goes at the back."""
        return from_micros(max(self._last[1], 0))

    def builds(self, sku: str) -> bool:
        """Whether a line of the plan builds this variant."""
        return sku in self._lines

    def join(
        self, sku: str, locks_at: datetime, placed_at: datetime, sequence: int
    ) -> Promise | None:
        """The promise to an order joining at the back, now counted in; None if its place
        would not be at the back or no line builds its variant."""
        # Every order of a burst takes the run's answer: written out here, not as a call
        # per step (a join took 2.5 us as five calls on the YU7's plan).
        run = self._runs.get(sku)
        key = None if run is None else self._goes_on(run, locks_at, sequence)
        if run is None or key is None:
            if sku not in self._lines:
                return None
            return self._place(sku, locks_at, placed_at, sequence, take=True)
        run.left -= 1
        self._free[run.line][run.offset] -= 1
        if self._sharing[sku]:
            self._parts_taken(sku)
        needed = self._needed
        for part in run.parts:
            needed[part.index] += part.count
        self._last = key
        self.joined += 1
        made = run.promise
        placed_minute = int(placed_at.timestamp()) // 60
        if placed_minute != run.placed_minute:
            made = self._redated(run, placed_at, placed_minute)
        return _at_place(made, self._scheduled + self.joined)

    def _goes_on(self, run: _Run, locks_at: datetime, sequence: int) -> tuple[int, int, int] | None:
        """The order's place, if it goes on with the variant's run: locking in its minute,
        at the back, the run's line with room that week still (read afresh: another
        variant may have taken it)."""
        if run.left > 0 and self._free[run.line][run.offset] > 0:
            locks_us = micros(locks_at)
            if locks_us // MINUTE_US == run.lock_minute:
                key = (run.rank, locks_us, sequence if sequence >= 0 else NEVER)
                if key >= self._last:
                    return key
        return None

    def _redated(self, run: _Run, placed_at: datetime, placed_minute: int) -> Promise:
        """The run's promise dated from a placement at `placed_at` (in `placed_minute`),
        kept for that minute: a minute's early locks come from orders placed over the
        days before."""
        made = run.promise
        assert made.build_week is not None  # a run is of a week within the horizon
        window = self._window(made.build_week, placed_at, placed_minute)
        run.promise = Promise(
            window.build_week, window.weeks, window.first_day, window.last_day, 0, made.set_by
        )
        run.placed_minute = placed_minute
        return run.promise

    def peek(
        self, sku: str, locks_at: datetime, placed_at: datetime, sequence: int = -1
    ) -> Promise | None:
        """What `join` would promise, counting nothing in (sequence -1: behind any order
        locking at the same moment, as a new order is). What locking now would promise a
        reserved order is peeked after each early lock of a burst: from the run, as
        `join` answers, it costs a fifth of working it out."""
        run = self._runs.get(sku)
        if run is None or self._goes_on(run, locks_at, sequence) is None:
            return self._place(sku, locks_at, placed_at, sequence, take=False)
        made = run.promise
        placed_minute = int(placed_at.timestamp()) // 60
        if placed_minute != run.placed_minute:
            made = self._redated(run, placed_at, placed_minute)
        return _at_place(made, self._scheduled + self.joined + 1)

    def _place(
        self, sku: str, locks_at: datetime, placed_at: datetime, sequence: int, take: bool
    ) -> Promise | None:
        schedule, plan = self.schedule, self.schedule.plan
        key = order_key(plan, sku, locks_at, sequence)
        if key < self._last:
            return None
        # The orders of a burst lock and were placed within the same minutes: the weeks
        # and days those give are worked out once a minute, not once an order.
        lock_minute = micros(locks_at) // MINUTE_US
        released = self._released.get(lock_minute)
        if released is None:
            if len(self._released) > MEMO_SIZE:
                self._released.clear()
            released = self._released[lock_minute] = release_week(schedule, locks_at)
        ready, binding, unit_of_binding = released, None, 0
        parts = self._parts[sku]
        # How many more orders each part serves before its arrival week moves on.
        spare = UNBOUNDED
        for part in parts:
            unit = self._needed[part.index] + part.count
            at = bisect_left(part.there_by, unit)
            if at < self._weeks:
                spare = min(spare, (part.there_by[at] - unit) // part.count)
                arrives = schedule.start + at
            else:
                spare, arrives = 0, NEVER
            if arrives > ready:
                ready, binding, unit_of_binding = arrives, part, unit
        week, line = self._room(sku, ready, take)
        if binding is not None and week == ready and ready != released:
            supplier, left = (None, 0)
            if week < NEVER:
                supplier, left = self._supplier(binding, week, unit_of_binding)
            spare = min(spare, left // binding.count)
            set_by = self._set_by("component", binding.component.id, supplier)
        else:
            set_by = self._set_by("line", plan.lines[line].id, None)
        position = self._scheduled + self.joined + 1
        placed_minute = int(placed_at.timestamp()) // 60
        window = self._window(week, placed_at, placed_minute)
        promise = Promise(
            window.build_week, window.weeks, window.first_day, window.last_day, position, set_by
        )
        if take:
            for part in parts:
                self._needed[part.index] += part.count
            self._last = key
            self.joined += 1
            self._parts_taken(sku)
            if week < NEVER:
                offset = week - schedule.start
                self._runs[sku] = _Run(
                    sku,
                    key[0],
                    lock_minute,
                    line,
                    offset,
                    parts,
                    spare,
                    promise,
                    placed_minute,
                )
            else:
                self._runs.pop(sku, None)
        return promise

    def _window(self, week: int, placed_at: datetime, placed_minute: int) -> Promise:
        """The weeks and days of a car built in `week` for an order placed at `placed_at`
        (in `placed_minute`): the same for every order placed in the same minute (they
        count whole days), as the orders of a burst are, so worked out once."""
        dated = (week, placed_minute)
        window = self._windows.get(dated)
        if window is None:
            if len(self._windows) > MEMO_SIZE:
                self._windows.clear()
            window = make_promise(self.schedule.plan, week, placed_at, 0, _NO_CAUSE)
            self._windows[dated] = window
        return window

    def _parts_taken(self, sku: str) -> None:
        """An order of `sku` took its parts: the run of another variant needing any of
        them is over (its parts' weeks and suppliers must be worked out again)."""
        for other in self._sharing[sku]:
            run = self._runs.get(other)
            if run is not None:
                run.left = 0

    def _set_by(self, kind: str, id: str, supplier: str | None) -> SetBy:
        """The few distinct answers to what sets a week, each made once."""
        found = self._set_bys.get((kind, id, supplier))
        if found is None:
            found = self._set_bys[kind, id, supplier] = SetBy(kind, id, supplier)
        return found

    def _room(self, sku: str, ready: int, take: bool) -> tuple[int, int]:
        """The first week from `ready` with room on a line of `sku` (taken if `take`);
        ties go to the line the plan lists first."""
        lines = self._lines[sku]
        offset = max(ready, self.schedule.start) - self.schedule.start
        best, chosen = self._weeks, lines[0]
        for line in lines:
            week = self._next_free(line, offset)
            if week < best:
                best, chosen = week, line
        if best >= self._weeks:
            return NEVER, lines[0]
        if take:
            self._free[chosen][best] -= 1
        return self.schedule.start + best, chosen

    def _next_free(self, line: int, week: int) -> int:
        """The first week from `week` with room on `line` (past the horizon if none);
        the full weeks passed are skipped next time."""
        free, skip = self._free[line], self._skip[line]
        passed = []
        while week < self._weeks and free[week] <= 0:
            passed.append(week)
            week = skip[week]
        for full in passed:
            skip[full] = week
        return week

    def _supplier(self, part: _Part, week: int, unit: int) -> tuple[str | None, int]:
        """Who delivered the `unit`-th unit of the part, which came in `week`, and how many
        more units of theirs came that week."""
        offset = week - self.schedule.start
        before = part.there_by[offset - 1] if offset > 0 else part.component.on_hand
        within = unit - before
        for supplier, delivered in zip(
            part.component.suppliers, part.deliveries[offset], strict=True
        ):
            within -= delivered
            if within <= 0:
                return supplier.id, -within
        return None, 0


def _last_key(schedule: Schedule) -> tuple[int, int, int]:
    if not len(schedule.ranked):
        return (-1, -1, -1)
    last = int(schedule.ranked[-1])
    queue = schedule.queue
    first = 0 if queue.skus[int(queue.sku[last])] in schedule.plan.priority_skus else 1
    return (first, int(queue.locks_at[last]), int(queue.sequence[last]))


def _at_place(made: Promise, position: int) -> Promise:
    """`made` for the order at `position` in the queue."""
    # The tuple made directly: a named tuple's own constructor is a Python function.
    return _new_tuple(Promise, (made[0], made[1], made[2], made[3], position, made[5]))
