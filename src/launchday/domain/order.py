"""An order and the buyer profile it may carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from launchday.domain.launch import Launch, Variant
from launchday.domain.lifecycle import OrderStatus, effective_status


@dataclass(frozen=True, slots=True)
class Profile:
    """Who a buyer is, as the brand's analytics want to know."""

    first_car_with_brand: bool | None = None
    new_to_brand: bool | None = None
    phone: str | None = None  # "ios" | "android" | "other"
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """One order as stored; `status` is the stored state (see `status_at`)."""

    id: str
    sequence: int
    launch: str
    sku: str
    customer: str
    status: OrderStatus
    deposit_amount: int
    placed_at: datetime
    refundable_until: datetime
    locked_at: datetime | None = None
    cancelled_at: datetime | None = None
    refund_amount: int | None = None
    profile: Profile | None = None

    def status_at(self, at: datetime) -> OrderStatus:
        """The status as of launch time `at`."""
        return effective_status(self.status, self.refundable_until, at)

    def lock_time(self) -> datetime | None:
        """When the order became (or will become) firm; None if it was cancelled."""
        if self.status is OrderStatus.CANCELLED:
            return None
        return self.locked_at or self.refundable_until


def delivery_window(order: Order, variant: Variant) -> tuple[datetime, datetime] | None:
    """Earliest and latest delivery of a build-to-order variant, from its lead time."""
    if variant.lead_weeks is None:
        return None
    earliest, latest = variant.lead_weeks
    return order.placed_at + timedelta(weeks=earliest), order.placed_at + timedelta(weeks=latest)


@dataclass(frozen=True, slots=True)
class NewOrder:
    """The terms of an order about to be accepted, computed before anything is written."""

    sku: str
    deposit_amount: int
    placed_at: datetime
    refundable_until: datetime
    status: OrderStatus


def terms_for(launch: Launch, sku: str, placed_at: datetime) -> NewOrder:
    """Deposit, window and initial status for an order of `sku` placed at launch time."""
    variant = launch.variant(sku)
    policy = launch.deposit_for(variant)
    until = placed_at + policy.window
    if launch.payments is not None:
        # Paid later through the provider: the window starts again when it is paid
        # (launchday.domain.payment); until then the order holds its unit unpaid.
        status = OrderStatus.PENDING_PAYMENT
    elif until <= placed_at:
        # A zero-hour window locks on payment: the order is firm from its first instant.
        status = OrderStatus.LOCKED
    else:
        status = OrderStatus.RESERVED
    return NewOrder(
        sku=sku,
        deposit_amount=policy.amount,
        placed_at=placed_at,
        refundable_until=until,
        status=status,
    )


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One recorded step of an order's life, in launch time."""

    at: datetime
    status: OrderStatus
    by: str  # "customer" for a request, "window" when the cooling-off window ended
    detail: str | None = None
