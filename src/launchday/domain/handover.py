"""Where and when a buyer collects an ordered car: the delivery centre on the order, and
the handover slot booked there once the car is built.

A buyer picks a delivery centre when ordering or later, and may change it until the car
is scheduled for handover (a handover booked and not cancelled). The centre's logistics
weeks are added to the delivery promise: the car is built at the plant, then carried to
the centre. Once the order is firm and its car built, the buyer books a handover slot at
the centre, no earlier than the first day of the promised window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from launchday.domain.booking import Booking, BookingClosed, BookingKind, BookingStatus
from launchday.domain.errors import AlreadyCancelled, DomainError, ValidationFailed
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import Order
from launchday.domain.retail_store import RetailStore, StoreKind

# A handover booked and not given up: the car is scheduled for it (or handed over).
_SCHEDULED = frozenset({BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.DONE})


class NotReady(DomainError):
    """The car cannot be handed over yet: the order is not firm, or not built."""

    code = "not_ready"


@dataclass(frozen=True, slots=True)
class Readiness:
    """When an order's car can be handed over: `built` whether it has left the line (as
    of the launch's clock), `first_day` the earliest day it can be at the centre."""

    built: bool
    first_day: date


def check_centre(store: RetailStore, field: str = "delivery_centre") -> RetailStore:
    """A delivery centre is a store that hands cars over."""
    if not store.is_a(StoreKind.DELIVERY):
        raise ValidationFailed(f"{store.id} is not a delivery centre", field)
    return store


def scheduled_handover(order: Order, handovers: list[Booking], now: datetime) -> Booking | None:
    """The order's handover that is booked and not given up (held and lapsed, cancelled
    or a no-show free the car again), if any."""
    for booking in handovers:
        if (
            booking.kind is BookingKind.HANDOVER
            and booking.order_id == order.id
            and booking.status_at(now) in _SCHEDULED
        ):
            return booking
    return None


def check_centre_change(order: Order, scheduled: Booking | None) -> None:
    """The centre may change until the car is scheduled for handover."""
    if order.status is OrderStatus.CANCELLED:
        raise AlreadyCancelled("the order is cancelled", field="id")
    if scheduled is not None:
        raise BookingClosed(
            f"the car is scheduled for handover at {scheduled.store}: cancel that first",
            field="delivery_centre",
        )


def check_ready(status: OrderStatus, readiness: Readiness | None) -> Readiness:
    """A handover is booked for a firm order whose car is built."""
    if status is not OrderStatus.LOCKED:
        raise NotReady(f"the order is {status}: a handover is booked once it is locked", "id")
    if readiness is None or not readiness.built:
        raise NotReady("the car is not built yet: its handover opens once it is", "id")
    return readiness


def at_centre(first_day: date, logistics_weeks: int) -> date:
    """The first day a car promised from `first_day` at the plant reaches the centre."""
    return first_day + timedelta(weeks=logistics_weeks)
