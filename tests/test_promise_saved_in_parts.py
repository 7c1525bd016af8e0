"""A re-promise stores its changes in parts, so that orders are written between them:
every promise and every move is stored once, whatever the size of the parts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchday.services import promise_keeper
from launchday.services.ports.delivery import MoveUpdates, PromiseUpdates
from launchday.services.promise_book import Changes
from tests.support import Api
from tests.test_delivery_api import SLUG, estimate, place_all, plan, put_plan, variants

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


def test_a_cancellation_stored_a_promise_at_a_time_moves_each_order_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(promise_keeper, "SAVE_ROWS", 1)
    api.create_launch(variants=variants("YU7-MAX", window_hours=168), per_customer_limit=1)
    put_plan(api, plan(2, ["YU7-MAX"]))
    placed = place_all(api, ["YU7-MAX"] * 6)
    assert [estimate(api, o)["build_week"] for o in placed] == [1, 1, 2, 2, 3, 3]
    second = placed[1]
    cancelled = api.post(
        f"/api/v1/orders/{second['id']}/cancel", headers=api.as_customer(second["customer"])
    )
    assert cancelled.status_code == 200, cancelled.text
    left = [o for o in placed if o is not second]
    assert [estimate(api, o)["build_week"] for o in left] == [1, 1, 2, 2, 3]
    changes = api.get(f"/api/v1/launches/{SLUG}/delivery/changes", headers=api.admin()).json()
    assert sorted(c["order"] for c in changes["changes"]) == sorted(
        [placed[2]["id"], placed[4]["id"]]
    )
    for order in left:  # each buyer's trail tells a move once, or not at all
        trail = api.get(
            f"/api/v1/orders/{order['id']}/history", headers=api.as_customer(order["customer"])
        ).json()["events"]
        moved = order["id"] in (placed[2]["id"], placed[4]["id"])
        assert [e["by"] for e in trail] == ["customer", "production"][: 1 + moved]
