"""A deposit paid through a payment provider: the hold on a new order's unit, what
payment does to the order, and what the provider's answer means when the hold ends.

A launch with a payment provider places its orders `pending_payment`: the order holds
its unit (and the buyer's slot) for the launch's hold, in launch time. The provider's
confirmation makes it `reserved` with its cooling-off window starting then (locked at
once when the window is zero). At the end of the hold the provider is asked first: a
payment still processing extends the hold by another hold (a bank debit takes its
time; dropping it would take money for an order that no longer exists), a payment that
succeeded pays the order, anything else expires it. A payment that arrives for an
order already expired or cancelled is refunded in full.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from launchday.domain.launch import Launch
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import Order


class PaymentStatus(StrEnum):
    """Where a deposit's payment stands, as launchday last heard from the provider."""

    AWAITING = "awaiting"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class Payment:
    """An order's deposit at the provider: amounts in the currency's minor unit."""

    order_id: str
    provider: str
    status: PaymentStatus
    amount_minor: int
    currency: str
    hold_until: datetime
    intent_id: str | None = None
    client_secret: str | None = None
    paid_at: datetime | None = None


class HoldOutcome(StrEnum):
    """What the end of a hold does, given the provider's answer."""

    PAY = "pay"
    EXTEND = "extend"
    EXPIRE = "expire"


def hold_until(launch: Launch, placed_at: datetime) -> datetime:
    """When an order placed at launch time `placed_at` stops holding its unit unpaid."""
    assert launch.payments is not None, "only a launch with payments holds units unpaid"
    return placed_at + launch.payments.hold


def at_end_of_hold(provider_status: PaymentStatus) -> HoldOutcome:
    """What a hold that has ended becomes, by the provider's answer read then."""
    if provider_status is PaymentStatus.SUCCEEDED:
        return HoldOutcome.PAY
    if provider_status is PaymentStatus.PROCESSING:
        return HoldOutcome.EXTEND
    return HoldOutcome.EXPIRE


def extended(payment: Payment, launch: Launch, at: datetime) -> Payment:
    """A processing payment's hold, extended by another hold from `at`."""
    assert launch.payments is not None
    until = max(payment.hold_until, at + launch.payments.hold)
    return replace(payment, status=PaymentStatus.PROCESSING, hold_until=until)


@dataclass(frozen=True, slots=True)
class Paid:
    """A pending order paid at `at`: its new status and the end of its window."""

    status: OrderStatus
    refundable_until: datetime


def paid(order: Order, launch: Launch, at: datetime) -> Paid | None:
    """What paying at launch time `at` makes of the order: reserved with a window from
    now (locked at once for a zero window); None when it is no longer pending (paid
    before, or expired or cancelled: then the money goes back, see `refund_on_payment`)."""
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return None
    window = launch.deposit_for(launch.variant(order.sku)).window
    until = at + window
    status = OrderStatus.LOCKED if until <= at else OrderStatus.RESERVED
    return Paid(status, until)


def refund_on_payment(order: Order) -> bool:
    """Whether a payment that arrives for the order, not recorded before, must be sent
    back: the order expired or was cancelled before the money came."""
    return order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
