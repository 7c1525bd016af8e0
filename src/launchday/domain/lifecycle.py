"""The order lifecycle as a transition table.

    reserved ──lock (early, or the window ends)──▶ locked
        └──────cancel (inside the window, refunded)──▶ cancelled

A reservation whose cooling-off window has passed *reads* as locked: the lock
at `refundable_until` is a fact of the clock, not a write, so nothing has to
sweep millions of rows at the end of the window.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from launchday.domain.errors import AlreadyCancelled, DomainError, Locked


class OrderStatus(StrEnum):
    RESERVED = "reserved"
    LOCKED = "locked"
    CANCELLED = "cancelled"


ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.RESERVED: frozenset({OrderStatus.LOCKED, OrderStatus.CANCELLED}),
    OrderStatus.LOCKED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

# Why a refused transition is refused, by the state it was refused from.
_REFUSAL: dict[OrderStatus, type[DomainError]] = {
    OrderStatus.LOCKED: Locked,
    OrderStatus.CANCELLED: AlreadyCancelled,
}


def effective_status(stored: OrderStatus, refundable_until: datetime, at: datetime) -> OrderStatus:
    """The status as of launch time `at`: a reservation past its window is locked."""
    if stored is OrderStatus.RESERVED and at >= refundable_until:
        return OrderStatus.LOCKED
    return stored


def transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Check a transition; True if it changes state, False if already there (a retry).

    Raises Locked or AlreadyCancelled when the table forbids it.
    """
    if current is target:
        return False
    if target not in ALLOWED[current]:
        refusal = _REFUSAL.get(current, DomainError)
        raise refusal(f"the order is {current.value}; it cannot become {target.value}")
    return True
