"""The pure parts of payments: money's minor units, the lifecycle with payments, the
end of a hold, and the ledger's invariants over any sequence of orders' steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchday.domain.errors import NotPaid, OrderExpired, ValidationFailed
from launchday.domain.launch import DepositPolicy, Launch, PaymentPolicy, Variant
from launchday.domain.ledger import (
    Account,
    Expected,
    Transfer,
    TransferKind,
    balances,
    discrepancies,
    totals_of,
)
from launchday.domain.lifecycle import LIVE, OrderStatus, transition
from launchday.domain.money import exponent, to_minor, to_whole
from launchday.domain.order import terms_for
from launchday.domain.payment import (
    HoldOutcome,
    PaymentStatus,
    at_end_of_hold,
    hold_until,
)

T0 = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


def launch(hold_minutes: float | None = 15, window_hours: float = 168) -> Launch:
    return Launch(
        slug="yu7",
        name="YU7",
        currency="CNY",
        opens_at=T0,
        deposit=DepositPolicy(5000, window_hours),
        variants=(Variant("YU7-MAX", "Max", 329900),),
        payments=None if hold_minutes is None else PaymentPolicy("rehearsal", hold_minutes),
    )


def test_minor_units_follow_each_currencys_exponent() -> None:
    assert (exponent("CNY"), exponent("JPY"), exponent("KWD"), exponent("usd")) == (2, 0, 3, 2)
    assert to_minor(5000, "CNY") == 500_000
    assert to_minor(5000, "JPY") == 5000
    assert to_minor(5000, "KWD") == 5_000_000
    assert to_whole(500_000, "CNY") == 5000
    with pytest.raises(ValidationFailed):
        to_whole(500_001, "CNY")  # not a whole yuan: not one of launchday's deposits


def test_an_order_of_a_launch_with_payments_starts_pending_and_holds_its_unit() -> None:
    terms = terms_for(launch(), "YU7-MAX", T0)
    assert terms.status is OrderStatus.PENDING_PAYMENT
    assert OrderStatus.PENDING_PAYMENT in LIVE
    assert OrderStatus.EXPIRED not in LIVE
    assert terms_for(launch(hold_minutes=None), "YU7-MAX", T0).status is OrderStatus.RESERVED
    assert hold_until(launch(), T0) == T0 + timedelta(minutes=15)


def test_the_lifecycle_with_payments() -> None:
    assert transition(OrderStatus.PENDING_PAYMENT, OrderStatus.RESERVED)
    assert transition(OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED)
    assert transition(OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED)
    with pytest.raises(OrderExpired):
        transition(OrderStatus.EXPIRED, OrderStatus.RESERVED)
    assert NotPaid("x").code == "not_paid"


def test_the_end_of_a_hold_asks_what_the_provider_says() -> None:
    assert at_end_of_hold(PaymentStatus.SUCCEEDED) is HoldOutcome.PAY
    assert at_end_of_hold(PaymentStatus.PROCESSING) is HoldOutcome.EXTEND
    assert at_end_of_hold(PaymentStatus.AWAITING) is HoldOutcome.EXPIRE
    assert at_end_of_hold(PaymentStatus.CANCELED) is HoldOutcome.EXPIRE


# --- the ledger over any history -----------------------------------------------------


@dataclass
class Books:
    """Orders and the transfers their steps write, as the payments service writes them."""

    transfers: dict[tuple[str, TransferKind], Transfer] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)  # paid, locked, cancelled, refunded
    window_end: dict[str, datetime] = field(default_factory=dict)
    amount: dict[str, int] = field(default_factory=dict)

    def pay(self, order: str, amount: int, at: datetime, window: timedelta) -> None:
        self.amount[order] = amount
        self.status[order] = "paid"
        self.window_end[order] = at + window
        self.transfers[order, TransferKind.PAID] = Transfer(order, TransferKind.PAID, amount, at)
        self.transfers[order, TransferKind.LOCKED] = Transfer(
            order, TransferKind.LOCKED, amount, at + window
        )

    def lock(self, order: str, at: datetime) -> None:
        if self.status.get(order) == "paid" and at < self.window_end[order]:
            self.status[order] = "locked"
            self.window_end[order] = at
            self.transfers[order, TransferKind.LOCKED] = Transfer(
                order, TransferKind.LOCKED, self.amount[order], at
            )

    def cancel(self, order: str, at: datetime) -> None:
        if self.status.get(order) == "paid" and at < self.window_end[order]:
            self.status[order] = "cancelled"
            del self.transfers[order, TransferKind.LOCKED]
            self.transfers[order, TransferKind.CANCELLED] = Transfer(
                order, TransferKind.CANCELLED, self.amount[order], at
            )

    def refund(self, order: str, at: datetime) -> None:
        if self.status.get(order) == "cancelled":
            self.status[order] = "refunded"
            self.transfers[order, TransferKind.REFUNDED] = Transfer(
                order, TransferKind.REFUNDED, self.amount[order], at
            )

    def expected(self, at: datetime) -> Expected:
        held = locked = owed = refunded = 0
        for order, status in self.status.items():
            amount = self.amount[order]
            if status in ("paid", "locked"):
                if at < self.window_end[order]:
                    held += amount
                else:
                    locked += amount
            elif status == "cancelled":
                owed += amount
            else:
                refunded += amount
        return Expected(held, locked, owed, refunded, sum(self.amount.values()))


steps = st.lists(
    st.tuples(
        st.sampled_from(["pay", "lock", "cancel", "refund"]),
        st.integers(0, 5),  # which order
        st.integers(1, 600),  # minutes after the step before
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps=steps, window_hours=st.sampled_from([0, 1, 168]))
def test_the_ledger_holds_at_every_moment_of_any_history(
    steps: list[tuple[str, int, int]], window_hours: int
) -> None:
    books = Books()
    at = T0
    window = timedelta(hours=window_hours)
    for action, number, minutes in steps:
        at += timedelta(minutes=minutes)
        order = f"o-{number}"
        if action == "pay" and order not in books.status:
            books.pay(order, 500_000 + number, at, window)
        elif action == "lock":
            books.lock(order, at)
        elif action == "cancel":
            books.cancel(order, at)
        elif action == "refund":
            books.refund(order, at)
        # At this moment and a little later (a window may have ended since without a write).
        for moment in (at, at + timedelta(minutes=30)):
            balance = balances(totals_of(books.transfers.values(), moment))
            assert sum(balance.values()) == 0
            assert discrepancies(balance, books.expected(moment)) == []


def test_a_broken_ledger_says_how() -> None:
    balance = balances({TransferKind.PAID: 100, TransferKind.LOCKED: 40})
    assert balance[Account.PROVIDER_CLEARING] == 100
    assert balance[Account.DEPOSITS_HELD] == -60
    found = discrepancies(
        balance, Expected(held=100, locked=0, refunds_owed=0, refunded=0, paid=100)
    )
    assert found == [
        "deposits_held holds 60, the deposits of reserved orders come to 100",
        "deposits_locked holds 40, the deposits of locked orders come to 0",
    ]
    with pytest.raises(ValueError, match="positive"):
        Transfer("o", TransferKind.PAID, 0, T0)
