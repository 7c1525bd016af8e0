"""The order lifecycle: the transition table and the status a reservation reads as."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from launchday.domain.errors import AlreadyCancelled, DomainError, Locked, OrderExpired
from launchday.domain.lifecycle import ALLOWED, OrderStatus, effective_status, transition
from launchday.domain.order import (
    Channel,
    Order,
    Profile,
    cancelled_order,
    locked_order,
)

RESERVED, LOCKED, CANCELLED = OrderStatus.RESERVED, OrderStatus.LOCKED, OrderStatus.CANCELLED
PENDING, EXPIRED = OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED
PLACED_AT = datetime(2026, 11, 22, 15, 0, 5, tzinfo=UTC)
UNTIL = PLACED_AT + timedelta(hours=168)
TICK = timedelta(microseconds=1)

# Every (from, to) pair, with what the table says: True (a change), False (a retry),
# or the refusal raised.
TABLE: list[tuple[OrderStatus, OrderStatus, bool | type[DomainError]]] = [
    (PENDING, PENDING, False),
    (PENDING, RESERVED, True),  # paid
    (PENDING, LOCKED, True),  # paid, with no cooling-off window
    (PENDING, CANCELLED, True),  # nothing paid, nothing to refund
    (PENDING, EXPIRED, True),  # not paid in time
    (RESERVED, PENDING, DomainError),
    (RESERVED, EXPIRED, DomainError),
    (LOCKED, PENDING, Locked),
    (LOCKED, EXPIRED, Locked),
    (CANCELLED, PENDING, AlreadyCancelled),
    (CANCELLED, EXPIRED, AlreadyCancelled),
    (EXPIRED, PENDING, OrderExpired),
    (EXPIRED, RESERVED, OrderExpired),
    (EXPIRED, LOCKED, OrderExpired),
    (EXPIRED, CANCELLED, OrderExpired),
    (EXPIRED, EXPIRED, False),
    (RESERVED, RESERVED, False),
    (RESERVED, LOCKED, True),
    (RESERVED, CANCELLED, True),
    (LOCKED, RESERVED, Locked),
    (LOCKED, LOCKED, False),
    (LOCKED, CANCELLED, Locked),
    (CANCELLED, RESERVED, AlreadyCancelled),
    (CANCELLED, LOCKED, AlreadyCancelled),
    (CANCELLED, CANCELLED, False),
]


def order(status: OrderStatus = RESERVED, **overrides: object) -> Order:
    values: dict[str, object] = {
        "id": "o-1",
        "sequence": 1,
        "launch": "yu7-2025",
        "sku": "YU7-MAX",
        "customer": "c-1",
        "status": status,
        "deposit_amount": 5000,
        "placed_at": PLACED_AT,
        "refundable_until": UNTIL,
    }
    values.update(overrides)
    return Order(**values)  # type: ignore[arg-type]


def test_the_table_covers_every_pair_of_statuses() -> None:
    assert set(ALLOWED) == set(OrderStatus)
    assert {(current, target) for current, target, _ in TABLE} == {
        (current, target) for current in OrderStatus for target in OrderStatus
    }


def test_only_a_reservation_can_change_and_it_never_goes_back_to_reserved() -> None:
    assert ALLOWED[RESERVED] == {LOCKED, CANCELLED}
    assert ALLOWED[LOCKED] == frozenset()
    assert ALLOWED[CANCELLED] == frozenset()


@pytest.mark.parametrize(("current", "target", "outcome"), TABLE)
def test_each_transition_is_allowed_a_retry_or_refused_for_a_reason(
    current: OrderStatus, target: OrderStatus, outcome: bool | type[DomainError]
) -> None:
    if isinstance(outcome, bool):
        assert transition(current, target) is outcome
        return
    with pytest.raises(outcome) as refused:
        transition(current, target)
    codes = {Locked: "locked", AlreadyCancelled: "cancelled", OrderExpired: "expired"}
    assert refused.value.code == codes.get(outcome, "error")
    assert current.value in refused.value.message
    assert target.value in refused.value.message


def test_cancelling_a_locked_order_is_refused_as_locked() -> None:
    with pytest.raises(Locked):
        transition(LOCKED, CANCELLED)


def test_locking_a_cancelled_order_is_refused_as_already_cancelled() -> None:
    with pytest.raises(AlreadyCancelled):
        transition(CANCELLED, LOCKED)


def test_a_reservation_reads_as_reserved_until_the_last_instant_of_its_window() -> None:
    assert effective_status(RESERVED, UNTIL, PLACED_AT) is RESERVED
    assert effective_status(RESERVED, UNTIL, UNTIL - TICK) is RESERVED


def test_a_reservation_reads_as_locked_the_instant_its_window_ends() -> None:
    assert effective_status(RESERVED, UNTIL, UNTIL) is LOCKED


def test_a_reservation_reads_as_locked_once_its_window_has_passed() -> None:
    assert effective_status(RESERVED, UNTIL, UNTIL + TICK) is LOCKED
    assert effective_status(RESERVED, UNTIL, UNTIL + timedelta(days=365)) is LOCKED


@pytest.mark.parametrize("stored", [LOCKED, CANCELLED])
@pytest.mark.parametrize("offset", [-timedelta(days=1), -TICK, timedelta(0), TICK])
def test_a_locked_or_cancelled_order_reads_as_stored_at_any_time(
    stored: OrderStatus, offset: timedelta
) -> None:
    assert effective_status(stored, UNTIL, UNTIL + offset) is stored


def test_an_order_reads_its_status_through_its_own_window() -> None:
    reserved = order()
    assert reserved.status_at(UNTIL - TICK) is RESERVED
    assert reserved.status_at(UNTIL) is LOCKED


def test_a_cancelled_reservation_stays_cancelled_after_its_window() -> None:
    assert order(CANCELLED, cancelled_at=PLACED_AT).status_at(UNTIL + TICK) is CANCELLED


def test_a_reservation_past_its_window_refuses_a_cancel_as_locked() -> None:
    late = order().status_at(UNTIL)
    with pytest.raises(Locked):
        transition(late, CANCELLED)
    assert transition(late, LOCKED) is False


def test_an_order_locks_at_its_window_end_unless_locked_early_or_cancelled() -> None:
    early = PLACED_AT + timedelta(hours=1)
    assert order().lock_time() == UNTIL
    assert order(LOCKED, locked_at=early).lock_time() == early
    assert order(CANCELLED, cancelled_at=early).lock_time() is None


def test_a_lock_or_a_cancellation_copies_every_other_field_as_replace_would() -> None:
    profile = Profile(first_car_with_brand=True, new_to_brand=False, phone="ios", region="CN-11")
    order = Order(
        "o1", 7, "yu7", "YU7-MAX", "c1", RESERVED, 5000, PLACED_AT, UNTIL,
        profile=profile, channel=Channel.STORE, store="bj-1", staff="wang",
        delivery_centre="bj-dc",
    )  # fmt: skip
    at = PLACED_AT + timedelta(hours=2)
    locked = locked_order(order, at)
    assert locked == replace(order, status=LOCKED, locked_at=at)
    cancelled = cancelled_order(order, at, 5000)
    assert cancelled == replace(order, status=CANCELLED, cancelled_at=at, refund_amount=5000)
    assert order.status is RESERVED  # the original is left as it was
    assert order.locked_at is None
    assert order.cancelled_at is None
