"""What the store keeps of deposits paid through a provider: each order's payment and
hold, the provider's events taken, the ledger's transfers and the refunds owed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from launchday.domain.ledger import TransferKind
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import Order
from launchday.domain.payment import Payment
from launchday.services.ports.locks import Lock

PAYMENTS = Lock("payments")
"""A launch's payments and ledger: webhooks, expiries and refunds take it."""


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """A refund owed for an order, and where it stands."""

    order_id: str
    launch: str
    status: str  # owed, pending, succeeded, failed
    amount_minor: int
    provider_refund_id: str | None
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class LedgerFigures:
    """A launch's ledger as of a moment: the total moved by each kind of transfer, and
    what the orders say the accounts must hold (launchday.domain.ledger.Expected)."""

    totals: dict[TransferKind, int]
    held: int
    locked: int
    refunds_owed: int
    refunded: int
    paid: int


class PaymentWrites(Protocol):
    def insert_payment(self, order: Order, payment: Payment) -> None:
        """Keep a new order's payment (in the transaction that places it)."""

    def payment(self, order: Order) -> Payment | None:
        """The order's payment, read inside the transaction."""

    def set_payment(self, order: Order, payment: Payment) -> None:
        """Keep what changed of the order's payment (status, intent, hold, paid time)."""

    def take_event(self, provider: str, event_id: str, type: str, at: datetime) -> bool:
        """Record a provider's event as taken; False if it was taken before."""

    def pay_order(self, order: Order, status: OrderStatus, refundable_until: datetime) -> Order:
        """A pending order paid: its new status and the end of its window."""

    def expire_order(self, order: Order, at: datetime) -> Order:
        """A pending order not paid in time: expired, its unit given back."""

    def add_transfer(self, order: Order, kind: TransferKind, amount: int, at: datetime) -> bool:
        """Record a transfer of the order's deposit; False if one of this kind exists."""

    def move_transfer(self, order: Order, kind: TransferKind, at: datetime) -> None:
        """Date a scheduled transfer `at` (an early lock: the window's lock now)."""

    def withdraw_transfer(self, order: Order, kind: TransferKind) -> None:
        """Withdraw a scheduled transfer (a cancellation: the window's lock never comes)."""

    def owe_refund(self, order: Order, amount: int, at: datetime) -> None:
        """A refund owed for the order (at most one: a second is not recorded)."""

    def set_refund(self, refund: RefundRecord, at: datetime) -> None:
        """Keep a refund's new status, provider id, attempts and next attempt."""

    def refund(self, order: Order) -> RefundRecord | None:
        """The order's refund, read inside the transaction."""


class PaymentReads(Protocol):
    def payment_of(self, order_id: str) -> Payment | None:
        """The order's payment, if its launch takes deposits through a provider."""

    def refund_of(self, order_id: str) -> RefundRecord | None:
        """The refund owed for the order, if any."""

    def due_holds(self, launch: str, at: datetime, limit: int) -> list[tuple[Order, Payment]]:
        """Pending orders whose hold ended by launch time `at`, oldest hold first."""

    def due_refunds(self, at_us: dict[str, int], limit: int) -> list[RefundRecord]:
        """Refunds owed or failed whose next attempt is due (per launch, by its own
        launch time in microseconds), oldest first."""

    def payment_counts(self, launch: str) -> tuple[int, int]:
        """The launch's orders paid (ever) and expired unpaid: two counters."""

    def payment_report(self, launch: str) -> dict[str, int]:
        """Counts of the launch's orders with payments (placed, paid, pending, expired)
        and of its refunds (refunds_sent, refunds_owed, refunds_failed)."""

    def refunds_of(self, launch: str, status: str | None, limit: int) -> list[RefundRecord]:
        """The launch's refunds (of one status, if given), the latest attempts first."""

    def order_of_intent(self, intent_id: str) -> str | None:
        """The order whose payment is this intent."""

    def deposits_of(self, launch: str) -> dict[str, tuple[int | None, int | None]]:
        """Per order of the launch with a payment: the amount paid and the amount
        refunded (None where none succeeded), in minor units."""

    def ledger_figures(self, launch: str, at: datetime) -> LedgerFigures:
        """The launch's ledger and its orders' deposits as of launch time `at`."""
