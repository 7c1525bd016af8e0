"""A re-promise stores its changes in parts, so that orders are written between them:
every promise and every move is stored once, whatever the size of the parts (over HTTP:
tests/test_delivery_api.py, a cancellation stored a promise at a time)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from launchday.services.ports.delivery import MoveUpdates, PromiseUpdates
from launchday.services.promise_book import Changes

AT = datetime(2026, 11, 23, tzinfo=UTC)


def changes_of(seqs: list[int], moved: list[int], gone: list[int]) -> Changes:
    n, m = len(seqs), len(moved)
    promises = PromiseUpdates(
        seqs, [s % 7 for s in seqs], [s % 5 for s in seqs], [None] * n,
        ["line"] * n, ["yz"] * n, [None] * n,
    )  # fmt: skip
    moves = MoveUpdates(AT, "a test", moved, [1] * m, [4] * m, [2] * m, [5] * m)
    return Changes(promises, moves, gone)


@given(
    st.lists(st.integers(1, 10_000), unique=True).map(sorted),
    st.data(),
    st.integers(1, 50),
)
def test_the_parts_hold_every_change_once_each_move_beside_its_promise(
    seqs: list[int], data: st.DataObject, size: int
) -> None:
    moved = sorted(data.draw(st.sets(st.sampled_from(seqs))) if seqs else [])
    gone = data.draw(st.lists(st.integers(10_001, 20_000), unique=True, max_size=5))
    whole = changes_of(seqs, moved, gone)
    parts = whole.parts(size)
    assert [s for p in parts for s in p.promises.order_seq] == seqs
    assert [s for p in parts for s in p.moves.order_seq] == moved
    assert [s for p in parts for s in p.gone] == gone
    assert all(len(p.promises.order_seq) <= size for p in parts)
    for part in parts:  # a part holds the moves of its own orders, and only those
        assert set(part.moves.order_seq) <= set(part.promises.order_seq)
        rows = part.promises.rows()
        assert [row[1] for row in rows] == [s % 7 for s in part.promises.order_seq]
        assert [row[1:] for row in part.moves.rows()] == [(1, 4, 2, 5)] * len(part.moves.rows())


def test_nothing_to_store_is_no_part_worth_a_write() -> None:
    assert not changes_of([], [], [])
    assert changes_of([], [], [3])
    assert changes_of([1], [], [])
