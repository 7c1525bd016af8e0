"""The order lifecycle as a transition table.

    pending_payment ──paid──▶ reserved ──lock (early, or the window ends)──▶ locked
        │                        └──────cancel (inside the window, refunded)──▶ cancelled
        ├──not paid by the end of its hold──▶ expired
        └──cancel (nothing paid)──▶ cancelled

An order starts at `pending_payment` only when its launch takes deposits through a
payment provider (launchday.domain.payment); otherwise it starts reserved, its deposit
taken as paid. A reservation whose cooling-off window has passed *reads* as locked:
the lock at `refundable_until` is a fact of the clock, not a write, so nothing has to
sweep millions of rows at the end of the window. An expiry is written (the provider is
asked first whether the payment is still on its way), so a pending order past its hold
still holds its unit until then.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from launchday.domain.errors import AlreadyCancelled, DomainError, Locked, OrderExpired


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    RESERVED = "reserved"
    LOCKED = "locked"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING_PAYMENT: frozenset(
        {OrderStatus.RESERVED, OrderStatus.LOCKED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
    ),
    OrderStatus.RESERVED: frozenset({OrderStatus.LOCKED, OrderStatus.CANCELLED}),
    OrderStatus.LOCKED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}

# The statuses that hold a unit of stock and count against the buyer's limit.
LIVE: frozenset[OrderStatus] = frozenset(
    {OrderStatus.PENDING_PAYMENT, OrderStatus.RESERVED, OrderStatus.LOCKED}
)

# Why a refused transition is refused, by the state it was refused from.
_REFUSAL: dict[OrderStatus, type[DomainError]] = {
    OrderStatus.LOCKED: Locked,
    OrderStatus.CANCELLED: AlreadyCancelled,
    OrderStatus.EXPIRED: OrderExpired,
}


def effective_status(stored: OrderStatus, refundable_until: datetime, at: datetime) -> OrderStatus:
    """The status as of launch time `at`: a reservation past its window is locked."""
    if stored is OrderStatus.RESERVED and at >= refundable_until:
        return OrderStatus.LOCKED
    return stored


def transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Check a transition; True if it changes state, False if already there (a retry).

    Raises Locked, AlreadyCancelled or OrderExpired when the table forbids it.
    """
    if current is target:
        return False
    if target not in ALLOWED[current]:
        refusal = _REFUSAL.get(current, DomainError)
        raise refusal(f"the order is {current.value}; it cannot become {target.value}")
    return True
