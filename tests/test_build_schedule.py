"""The build schedule and the delivery promise as pure functions of (plan, queue): hand-
worked fixtures, a plain week-by-week reference the fast schedule must equal, and the
properties a buyer relies on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from launchday.domain.build_queue import BuildQueue, micros
from launchday.domain.build_schedule import BY_COMPONENT, BY_LINE, schedule
from launchday.domain.delivery_promise import (
    SetBy,
    promise_if_placed,
    promise_of,
    promised_weeks,
)
from launchday.domain.parts import NEVER
from launchday.domain.production_plan import Component, Line, ProductionPlan, Rate, Supplier
from launchday.domain.promise_changes import PromiseColumns, compare
from launchday.domain.queue_tail import QueueTail

MONDAY = date(2025, 7, 7)
T0 = datetime(2025, 7, 7, tzinfo=UTC)  # 08:00 in Shanghai, in week 0


def plan_of(
    lines: list[Line],
    components: list[Component] = (),
    **more: object,  # type: ignore[assignment]
) -> ProductionPlan:
    base = ProductionPlan(MONDAY, "Asia/Shanghai", 2, 3, tuple(lines), tuple(components))
    return replace(base, **more)  # type: ignore[arg-type]


def line(id: str, skus: str, *rates: tuple[int, int]) -> Line:
    return Line(id, tuple(skus.split()), tuple(Rate(w, n) for w, n in rates))


def part(
    id: str, use: dict[str, int], on_hand: int, **suppliers: list[tuple[int, int]]
) -> Component:
    return Component(
        id,
        tuple(use.items()),
        on_hand,
        tuple(Supplier(s, tuple(Rate(w, n) for w, n in r)) for s, r in suppliers.items()),
    )


def queue_of(entries: list[tuple[str, datetime, int]], skus: str = "STD PRO MAX") -> BuildQueue:
    return BuildQueue.of(skus.split(), entries)


def locked(
    sku: str, count: int, at: datetime = T0, first: int = 1
) -> list[tuple[str, datetime, int]]:
    return [(sku, at, first + i) for i in range(count)]


# --- Fixtures worked by hand ----------------------------------------------------------


def test_a_line_of_100_a_week_builds_order_k_in_week_k_minus_1_over_100() -> None:
    plan = plan_of([line("yz", "STD PRO MAX", (0, 100))])
    built = schedule(plan, queue_of(locked("MAX", 1000)), 0)
    assert built.week.tolist() == [(k - 1) // 100 for k in range(1, 1001)]
    assert built.position.tolist() == list(range(1, 1001))
    assert set(built.set_by.tolist()) == {BY_LINE}
    last = promise_of(built, 999, T0)
    assert last.build_week == 9
    assert last.weeks == (11, 14)  # delivered two weeks after it is built, a 3-week window
    assert (last.first_day, last.last_day) == (date(2025, 9, 22), date(2025, 10, 13))
    assert last.queue_position == 1000


def test_a_trim_short_of_batteries_waits_and_the_other_trim_takes_the_line() -> None:
    """One line of 10 a week builds STD and MAX; STD's pack comes 4 a week. Ten STD
    orders ahead of ten MAX: week 0 builds 4 STD and 6 MAX, week 1 4 STD and 4 MAX,
    week 2 the last 2 STD."""
    pack = part("pack-lfp", {"STD": 1}, 0, fudi=[(0, 4)])
    plan = plan_of([line("yz", "STD MAX", (0, 10))], [pack])
    queue = queue_of(locked("STD", 10) + locked("MAX", 10, first=11))
    built = schedule(plan, queue, 0)
    assert built.week.tolist() == [0] * 4 + [1] * 4 + [2] * 2 + [0] * 6 + [1] * 4
    std_late = promise_of(built, 9, T0)  # the worked example of docs/delivery.md
    assert std_late.weeks == (4, 7)
    assert (std_late.first_day, std_late.last_day) == (date(2025, 8, 4), date(2025, 8, 25))
    assert std_late.set_by.kind == "component"
    assert [promise_of(built, i, T0).set_by.kind for i in (0, 4, 10, 16)] == [
        "line", "component", "line", "line",
    ]  # fmt: skip
    assert (std_late.set_by.id, std_late.set_by.supplier) == ("pack-lfp", "fudi")
    assert promise_of(built, 19, T0).set_by.kind == "line"


def test_a_cancellation_ahead_moves_the_orders_behind_up() -> None:
    plan = plan_of([line("yz", "MAX", (0, 2))])
    entries = locked("MAX", 6)
    before = schedule(plan, queue_of(entries), 0)
    after = schedule(plan, queue_of(entries[:1] + entries[2:]), 0)  # the second cancels
    assert before.week.tolist() == [0, 0, 1, 1, 2, 2]
    assert after.week.tolist() == [0, 0, 1, 1, 2]


def test_locking_early_moves_an_order_up() -> None:
    """Reserved orders count from their window's end; one that locks now goes ahead of
    those whose windows end later."""
    plan = plan_of([line("yz", "MAX", (0, 1))])
    window_end = T0 + timedelta(days=7)
    entries = [("MAX", window_end + timedelta(minutes=i), i + 1) for i in range(5)]
    reserved = schedule(plan, queue_of(entries), 0)
    assert reserved.week.tolist() == [1, 2, 3, 4, 5]  # nothing locks in week 0
    last = entries[-1]
    early = schedule(plan, queue_of([*entries[:-1], (last[0], T0, last[2])]), 0)
    assert early.week.tolist() == [1, 2, 3, 4, 0]
    asked = promise_if_placed(reserved, "MAX", T0, T0, sequence=5)
    assert asked.build_week == 0
    assert promise_of(early, 4, T0).build_week == asked.build_week


def test_a_shutdown_week_and_a_ramp_up_are_counted() -> None:
    plan = plan_of([line("yz", "MAX", (0, 2), (1, 0), (2, 3))])
    assert schedule(plan, queue_of(locked("MAX", 6)), 0).week.tolist() == [0, 0, 2, 2, 2, 3]


def test_past_weeks_build_nothing_and_a_car_never_comes_past_the_horizon() -> None:
    plan = plan_of([line("yz", "MAX", (0, 1))], [part("chip", {"MAX": 1}, 1, acme=[(0, 0)])])
    built = schedule(plan, queue_of(locked("MAX", 2)), 5)
    assert built.week.tolist() == [5, NEVER]
    never = promise_of(built, 1, T0)
    assert never.weeks is None
    assert (never.set_by.kind, never.set_by.id) == ("component", "chip")


def test_a_second_line_takes_what_the_first_cannot() -> None:
    plan = plan_of([line("a", "MAX", (0, 2)), line("b", "MAX STD", (0, 2))])
    built = schedule(plan, queue_of(locked("MAX", 5)), 0)
    assert built.week.tolist() == [0, 0, 0, 0, 1]
    assert [plan.lines[i].id for i in built.line.tolist()] == ["a", "a", "b", "b", "a"]


def test_a_priority_variant_goes_first() -> None:
    plan = plan_of([line("yz", "STD MAX", (0, 1))], priority_skus=("MAX",))
    queue = queue_of([("STD", T0, 1), ("MAX", T0 + timedelta(hours=1), 2)])
    assert schedule(plan, queue, 0).week.tolist() == [1, 0]


# --- A plain reference, week by week and order by order --------------------------------


def reference(plan: ProductionPlan, queue: BuildQueue, start: int) -> list[tuple[int, int]]:
    """(week, line) per order, by the rules read literally: parts handed out unit by unit
    in queue order, then each week a walk down the queue."""
    end = start + 60
    first = set(plan.priority_skus)
    order = sorted(
        range(len(queue)),
        key=lambda i: (
            queue.skus[queue.sku[i]] not in first,
            int(queue.locks_at[i]),
            int(queue.sequence[i]),
        ),
    )
    sku = [queue.skus[queue.sku[i]] for i in range(len(queue))]
    ready = {
        i: max(start, plan.week_of(datetime.fromtimestamp(queue.locks_at[i] / 1e6, UTC)))
        for i in order
    }
    for component in plan.components:
        week, taken = start, 0
        there = component.on_hand + sum(rate_of(s.supply, start) for s in component.suppliers)
        for i in order:
            taken += component.use_by(sku[i])
            if component.use_by(sku[i]) == 0:
                continue
            while there < taken and week < end - 1:
                week += 1
                there += sum(rate_of(s.supply, week) for s in component.suppliers)
            ready[i] = max(ready[i], week if there >= taken else NEVER)
    result = dict.fromkeys(order, (NEVER, -1))
    for week in range(start, end):
        room = [rate_of(line.capacity, week) for line in plan.lines]
        for i in order:
            if result[i][0] != NEVER or ready[i] > week:
                continue
            for index, candidate in enumerate(plan.lines):
                if sku[i] in candidate.skus and room[index] > 0:
                    room[index] -= 1
                    result[i] = (week, index)
                    break
    return [result[i] for i in range(len(queue))]


def rate_of(rates: tuple[Rate, ...], week: int) -> int:
    current = 0
    for rate in rates:
        if rate.from_week <= week:
            current = rate.per_week
    return current


SKUS = ["STD", "PRO", "MAX"]
rates = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 6)),
    min_size=1,
    max_size=3,
    unique_by=lambda r: r[0],
).map(lambda rs: tuple(Rate(w, n) for w, n in sorted(rs)))


@st.composite
def plans(draw: st.DrawFn) -> ProductionPlan:
    lines = []
    for i in range(draw(st.integers(1, 3))):
        skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True))
        lines.append(Line(f"line-{i}", tuple(skus), draw(rates)))
    for sku in SKUS:  # every variant has a line
        if not any(sku in line.skus for line in lines):
            lines[0] = replace(lines[0], skus=(*lines[0].skus, sku))
    components = []
    for i in range(draw(st.integers(0, 3))):
        use = draw(st.dictionaries(st.sampled_from(SKUS), st.integers(1, 2), min_size=1))
        suppliers = tuple(
            Supplier(f"s-{i}-{j}", draw(rates)) for j in range(draw(st.integers(1, 2)))
        )
        components.append(
            Component(f"part-{i}", tuple(use.items()), draw(st.integers(0, 5)), suppliers)
        )
    priority = tuple(draw(st.lists(st.sampled_from(SKUS), max_size=1)))
    return plan_of(lines, components, priority_skus=priority)


@st.composite
def queues(draw: st.DrawFn) -> BuildQueue:
    entries = [
        (draw(st.sampled_from(SKUS)), T0 + timedelta(days=draw(st.integers(-7, 30))), i)
        for i in range(draw(st.integers(0, 40)))
    ]
    return queue_of(entries)


@settings(max_examples=300, deadline=None)
@given(plan=plans(), queue=queues(), start=st.integers(0, 2))
def test_the_schedule_is_the_plain_rules_read_literally(
    plan: ProductionPlan, queue: BuildQueue, start: int
) -> None:
    built = schedule(plan, queue, start)
    within = [
        (week, on) if week < start + 60 else (NEVER, -1)
        for week, on in zip(built.week.tolist(), built.line.tolist(), strict=True)
    ]
    assert within == reference(plan, queue, start)


@settings(max_examples=200, deadline=None)
@given(plan=plans(), queue=queues())
def test_no_line_builds_past_its_capacity_nor_any_car_without_its_parts(
    plan: ProductionPlan, queue: BuildQueue
) -> None:
    built = schedule(plan, queue, 0)
    done = built.week < NEVER
    assert (built.week[done] >= built.released[done]).all(), "built before it locks"
    for index, candidate in enumerate(plan.lines):
        weeks = built.week[done & (built.line == index)]
        for week, count in zip(*np.unique(weeks, return_counts=True), strict=True):
            assert count <= rate_of(candidate.capacity, int(week))
    for component in plan.components:
        use = np.array([component.use_by(s) for s in queue.skus])[queue.sku]
        for week in range(60):
            used = int(use[done & (built.week <= week)].sum())
            came = component.on_hand + sum(
                rate_of(s.supply, w) for s in component.suppliers for w in range(week + 1)
            )
            assert used <= came, f"{component.id} used {used} by week {week}, {came} came"


@settings(max_examples=200, deadline=None)
@given(plan=plans(), queue=queues())
def test_no_order_overtakes_one_ahead_of_it_of_the_same_variant(
    plan: ProductionPlan, queue: BuildQueue
) -> None:
    built = schedule(plan, queue, 0)
    for index in range(len(queue.skus)):
        in_queue_order = built.ranked[queue.sku[built.ranked] == index]
        weeks = built.week[in_queue_order]
        assert (np.diff(weeks) >= 0).all()


@settings(max_examples=200, deadline=None)
@given(
    plan=plans(),
    queue=queues(),
    which=st.integers(0, 2),
    week=st.integers(0, 10),
    more=st.integers(1, 4),
)
def test_adding_capacity_never_makes_a_promise_later(
    plan: ProductionPlan, queue: BuildQueue, which: int, week: int, more: int
) -> None:
    grown_line = plan.lines[which % len(plan.lines)]
    capacity = [
        Rate(w, rate_of(grown_line.capacity, w) + (more if w == week else 0)) for w in range(12)
    ]
    capacity.append(Rate(12, rate_of(grown_line.capacity, 12)))
    grown = replace(
        plan,
        lines=tuple(
            replace(each, capacity=tuple(capacity)) if each is grown_line else each
            for each in plan.lines
        ),
    )
    before, after = schedule(plan, queue, 0), schedule(grown, queue, 0)
    assert (after.week <= before.week).all()


@settings(max_examples=200, deadline=None)
@given(plan=plans(), queue=queues(), sku=st.sampled_from(SKUS), day=st.integers(-3, 30))
def test_the_promise_to_an_order_not_yet_queued_is_the_one_it_gets_when_queued(
    plan: ProductionPlan, queue: BuildQueue, sku: str, day: int
) -> None:
    locks_at = T0 + timedelta(days=day, hours=5)
    asked = promise_if_placed(schedule(plan, queue, 0), sku, locks_at, T0)
    joined = BuildQueue(
        queue.skus,
        np.append(queue.sku, queue.skus.index(sku)),
        np.append(queue.locks_at, micros(locks_at)),
        np.append(queue.sequence, 10_000),
    )
    got = promise_of(schedule(plan, joined, 0), len(queue), T0)
    assert asked == got
    if asked.build_week is not None:
        assert asked.set_by.kind in ("line", "component")
        assert (asked.set_by.kind == "component") == (
            schedule(plan, joined, 0).set_by[len(queue)] == BY_COMPONENT
        )


def assert_the_tail_agrees(
    plan: ProductionPlan, queue: BuildQueue, split: int, placed_hours_ago: Sequence[int] = ()
) -> None:
    """Schedule the queue's first `split` orders, join the rest to the tail in queue
    order: each must be promised exactly what the whole queue's schedule gives it, and
    peeked first (every variant, as locking-now answers are), exactly that too. Order i
    was placed `placed_hours_ago[i % len]` hours before T0 (at T0 without them)."""
    full = schedule(plan, queue, 0)
    order = full.ranked.tolist()
    split = min(split, len(order))
    head = np.array(sorted(order[:split]), dtype=np.int64)
    first = BuildQueue(queue.skus, queue.sku[head], queue.locks_at[head], queue.sequence[head])
    tail = QueueTail(schedule(plan, first, 0))
    for index in order[split:]:
        sku = queue.skus[int(queue.sku[index])]
        at = datetime.fromtimestamp(int(queue.locks_at[index]) / 1e6, UTC)
        hours = placed_hours_ago[index % len(placed_hours_ago)] if placed_hours_ago else 0
        placed = T0 - timedelta(hours=hours)
        sequence = int(queue.sequence[index])
        peeked = {each: tail.peek(each, at, placed, sequence) for each in queue.skus}
        joined = tail.join(sku, at, placed, sequence)
        assert joined == promise_of(full, index, placed)
        assert peeked[sku] == joined


@settings(max_examples=200, deadline=None)
@given(plan=plans(), queue=queues(), split=st.integers(0, 40))
def test_orders_joining_at_the_back_are_promised_what_a_new_schedule_gives_them(
    plan: ProductionPlan, queue: BuildQueue, split: int
) -> None:
    """The tail answers a placement without scheduling again; it must agree exactly."""
    assert_the_tail_agrees(plan, queue, split)


@settings(max_examples=200, deadline=None)
@given(
    plan=plans(),
    burst=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(0, 59)), max_size=60),
    split=st.integers(0, 60),
)
def test_a_burst_of_variants_in_turn_is_promised_what_a_new_schedule_gives_it(
    plan: ProductionPlan, burst: list[tuple[str, int]], split: int
) -> None:
    """The variants of a launch night's burst come in turn, all locking and placed in the
    same minute: each variant's run of answers must see the room and parts the others
    took in between."""
    entries = [(sku, T0 + timedelta(seconds=second), n) for n, (sku, second) in enumerate(burst)]
    assert_the_tail_agrees(plan, queue_of(entries), split)


@settings(max_examples=200, deadline=None)
@given(
    plan=plans(),
    burst=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(0, 59)), max_size=60),
    split=st.integers(0, 60),
    placed_hours_ago=st.lists(st.integers(0, 24 * 20), min_size=1, max_size=8),
)
def test_early_locks_of_orders_placed_days_apart_are_each_dated_from_their_own_placing(
    plan: ProductionPlan,
    burst: list[tuple[str, int]],
    split: int,
    placed_hours_ago: list[int],
) -> None:
    """The early locks of a minute come from orders placed over the days before: they
    go on with one run of answers, each promised the weeks after its own placement."""
    entries = [(sku, T0 + timedelta(seconds=second), n) for n, (sku, second) in enumerate(burst)]
    assert_the_tail_agrees(plan, queue_of(entries), split, placed_hours_ago)


def test_variants_sharing_a_part_in_turn_each_see_what_the_other_took() -> None:
    """Two trims on one roomy line share a chip from two suppliers, 3 a week each from
    week 1: orders of both, in turn within one minute, take the chips in queue order."""
    chip = part("chip", {"STD": 1, "MAX": 1}, 0, fudi=[(1, 3)], catl=[(1, 3)])
    plan = plan_of([line("yz", "STD MAX", (0, 100))], [chip])
    entries = [("STD" if n % 2 else "MAX", T0, n) for n in range(1, 15)]
    tail = QueueTail(schedule(plan, queue_of([]), 0))
    joined = [tail.join(sku, at, T0, sequence) for sku, at, sequence in entries]
    full = schedule(plan, queue_of(entries), 0)
    assert joined == [promise_of(full, i, T0) for i in range(len(entries))]
    assert [(p.build_week, p.set_by.supplier) for p in joined if p][:7] == [
        (1, "fudi"), (1, "fudi"), (1, "fudi"), (1, "catl"), (1, "catl"), (1, "catl"),
        (2, "fudi"),
    ]  # fmt: skip


def test_orders_joining_in_a_burst_name_each_supplier_in_turn() -> None:
    """A burst of orders locking in the same minute, whose pack comes from two suppliers
    2 a week each from week 1 on: two cars wait for the first supplier's delivery, two for
    the second's, then the next week's, and past the line's room of 5 a week the line."""
    pack = part("pack", {"MAX": 1}, 0, fudi=[(1, 2)], catl=[(1, 2)])
    plan = plan_of([line("yz", "MAX", (0, 5))], [pack])
    tail = QueueTail(schedule(plan, queue_of([]), 0))
    joined = [tail.join("MAX", T0, T0, n) for n in range(1, 13)]
    assert [(p.build_week, p.set_by.kind, p.set_by.supplier) for p in joined if p] == [
        (1, "component", "fudi"), (1, "component", "fudi"),
        (1, "component", "catl"), (1, "component", "catl"),
        (2, "component", "fudi"), (2, "component", "fudi"),
        (2, "component", "catl"), (2, "component", "catl"),
        (3, "component", "fudi"), (3, "component", "fudi"),
        (3, "component", "catl"), (3, "component", "catl"),
    ]  # fmt: skip
    assert [p.queue_position for p in joined if p] == list(range(1, 13))
    full = schedule(plan, queue_of(locked("MAX", 12)), 0)
    assert joined == [promise_of(full, i, T0) for i in range(12)]
    roomy = plan_of([line("yz", "MAX", (0, 3))], [part("pack", {"MAX": 1}, 100, fudi=[(0, 1)])])
    tail = QueueTail(schedule(roomy, queue_of([]), 0))
    weeks = [tail.join("MAX", T0, T0, n) for n in range(1, 8)]
    assert [p.build_week for p in weeks if p] == [0, 0, 0, 1, 1, 1, 2]
    assert {p.set_by for p in weeks if p} == {SetBy("line", "yz")}


def test_an_order_whose_place_is_not_at_the_back_is_not_for_the_tail() -> None:
    plan = plan_of([line("yz", "MAX", (0, 1))])
    tail = QueueTail(schedule(plan, queue_of(locked("MAX", 3, at=T0 + timedelta(days=7))), 0))
    assert tail.join("MAX", T0, T0, 99) is None
    assert tail.join("MAX", T0 + timedelta(days=8), T0, 99) is not None


@settings(max_examples=100, deadline=None)
@given(
    plan=plans(), queue=queues(), hours=st.lists(st.integers(-200, 200), min_size=40, max_size=40)
)
def test_the_promises_of_a_whole_queue_at_once_are_each_orders_own(
    plan: ProductionPlan, queue: BuildQueue, hours: list[int]
) -> None:
    """What a re-promise compares, worked out over all orders at once (numpy), is what
    each order is told."""
    made = schedule(plan, queue, 0)
    placed = [T0 + timedelta(hours=h, minutes=17) for h in hours[: len(queue)]]
    at_once = promised_weeks(made, np.array([micros(p) for p in placed], dtype=np.int64))
    one_by_one = [promise_of(made, i, p).weeks for i, p in enumerate(placed)]
    assert at_once.tolist() == [w[0] if w else -1 for w in one_by_one]


def test_a_re_promise_keeps_what_changed_and_tells_who_moved() -> None:
    kept = PromiseColumns.of(
        np.array([30, 10, 20, 40]), np.array([3, 1, 2, -1]), np.array([5, 3, 4, -1])
    )
    seq = np.array([10, 20, 30, 50])  # 40 left the queue, 50 is new
    diff = compare(seq, np.array([1, 2, 2, 7]), np.array([3, 6, 4, 9]), kept)
    assert diff.changed.tolist() == [1, 2, 3]  # 20 later, 30 earlier, 50 new; 10 as it was
    assert diff.moved.tolist() == [1, 2]
    assert diff.moved_from.tolist() == [4, 5]
    assert diff.gone.tolist() == [40]
