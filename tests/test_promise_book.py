"""A promise book keeps what it told each order since it was made, exactly, and as
nothing the garbage collector must walk: a launch night keeps hundreds of thousands of
them, and tuples kept by the thousand a second filled every young generation."""

from __future__ import annotations

import gc
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from launchday.domain.build_queue import micros
from launchday.domain.delivery_promise import SetBy, make_promise
from launchday.domain.parts import NEVER
from launchday.domain.promise_changes import NONE
from launchday.services.ports.delivery import QueuedOrders
from launchday.services.promise_book import PromiseBook, book_of
from tests.test_build_schedule import T0, line, plan_of

PLAN = plan_of([line("yz", "STD MAX", (0, 3))])
CAUSES = [SetBy("line", "yz"), SetBy("component", "pack", "fudi"), SetBy("component", "pack")]


def empty_book() -> PromiseBook:
    nothing = np.zeros(0, dtype=np.int64)
    return book_of(1, 0, PLAN, QueuedOrders(nothing, nothing, nothing, nothing), T0)


def order(sequence: int, minutes: int = 0) -> Any:
    return SimpleNamespace(sequence=sequence, sku="STD", placed_at=T0 + timedelta(minutes=minutes))


told = st.tuples(
    st.one_of(st.integers(0, 600), st.just(NEVER)),  # build week, or past the horizon
    st.integers(1, 10_000_000),  # queue place
    st.sampled_from(CAUSES),
    st.integers(0, 60 * 24 * 30),  # placed, minutes after T0
)


@given(st.lists(told, min_size=1, max_size=30), st.sets(st.integers(0, 29)))
def test_each_promise_told_is_given_back_exactly(
    promises: list[tuple[int, int, SetBy, int]], locking: set[int]
) -> None:
    book = empty_book()
    made, orders = {}, {}
    for sequence, (week, position, cause, minutes) in enumerate(promises, start=1):
        orders[sequence] = placed = order(sequence, minutes)
        made[sequence] = make_promise(PLAN, week, placed.placed_at, position, cause)
        book.count_in(placed, T0, made[sequence])
    for sequence in sorted(locking):  # some lock early too, told the first promise again
        if sequence + 1 in made:
            book.count_locked(orders[sequence + 1], made[1])
    for sequence, promise in made.items():
        assert book.joined_promise(orders[sequence]) == promise
    given_back = book.given()
    for sequence, promise in made.items():  # an order that joined counts as joined
        at = int(np.searchsorted(given_back.seq, sequence))
        week = NONE if promise.build_week is None else promise.build_week
        first = NONE if promise.weeks is None else promise.weeks[0]
        assert (given_back.build_week[at], given_back.weeks_from[at]) == (week, first)
    assert book.joined_promise(order(len(promises) + 1)) is None  # never told


def test_what_a_book_keeps_per_order_is_not_for_the_garbage_collector() -> None:
    book = empty_book()
    for sequence in range(1, 101):
        placed = order(sequence)
        promise = make_promise(PLAN, sequence // 3, placed.placed_at, sequence, CAUSES[0])
        book.count_in(placed, T0, promise)
        book.count_locked(placed, promise)
    # A dict of untracked keys and values is untracked itself: no collection walks it.
    assert not gc.is_tracked(book.joined)
    assert not gc.is_tracked(book.locked)


def test_locks_committed_together_join_the_front_in_the_order_written() -> None:
    """Early locks written in one batch share their moment and come in the order they
    were written, not by sequence: each goes at the front's back in turn, promised the
    next place (a line of 3 a week: weeks 0, 0, 0, then 1), ahead of every reserved one."""
    queued = QueuedOrders(  # one reserved order, its window ending a week after T0
        seq=np.array([9], dtype=np.int64),
        sku=np.array([0], dtype=np.int64),
        placed_at_us=np.array([micros(T0)], dtype=np.int64),
        locks_at_us=np.array([micros(T0 + timedelta(days=7))], dtype=np.int64),
    )
    book = book_of(1, 0, PLAN, queued, T0)
    at = T0 + timedelta(minutes=5)
    promises = [
        book.join_front(order(sequence, minutes=sequence), at) for sequence in (30, 10, 20, 5)
    ]
    assert [p.queue_position if p else None for p in promises] == [1, 2, 3, 4]
    assert [p.build_week if p else None for p in promises] == [0, 0, 0, 1]
    # Each was told its promise: the re-promise compares with it.
    assert [book.locked[s] > 0 for s in (30, 10, 20, 5)] == [True] * 4
