"""The writes of payments inside a batch's transaction, for both databases: each order's
payment and hold, the provider's events taken, the ledger's transfers and refunds."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from launchday.domain.clock import from_micros, to_micros
from launchday.domain.ledger import TransferKind
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import Order
from launchday.domain.payment import Payment, PaymentStatus
from launchday.services.ports.payment_records import RefundRecord
from launchday.store.bulk_insert import PAYMENT_ROWS, BulkInsert

PAYMENT_COLUMNS = (
    "status, amount_minor, currency, hold_until_us, intent_id, client_secret, paid_at_us, provider"
)
REFUND_COLUMNS = (
    "r.status, r.amount_minor, r.provider_refund_id, r.attempts, r.next_attempt_at_us, r.last_error"
)


def payment_from_row(order_id: str, row: Sequence[Any]) -> Payment:
    """A payment from its `PAYMENT_COLUMNS`."""
    return Payment(
        order_id=order_id,
        provider=row[7],
        status=PaymentStatus(row[0]),
        amount_minor=int(row[1]),
        currency=row[2],
        hold_until=from_micros(int(row[3])),
        intent_id=row[4],
        client_secret=row[5],
        paid_at=None if row[6] is None else from_micros(int(row[6])),
    )


def refund_from_row(order_id: str, launch: str, row: Sequence[Any]) -> RefundRecord:
    """A refund from its `REFUND_COLUMNS`."""
    return RefundRecord(
        order_id=order_id,
        launch=launch,
        status=row[0],
        amount_minor=int(row[1]),
        provider_refund_id=row[2],
        attempts=int(row[3]),
        next_attempt_at=from_micros(int(row[4])),
        last_error=row[5],
    )


class PaymentsTx:
    """Mixed into `SqlWriteTx`, whose statements it runs. A new order's payment is kept
    until the batch writes its orders (`flush_payments`), as its row refers to theirs."""

    _new_payments: dict[int, tuple[Order, Payment]]

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    def launch_id(self, slug: str) -> int: ...

    @abstractmethod
    def insert_all(self, insert: BulkInsert, rows: list[tuple[Any, ...]]) -> None: ...

    @abstractmethod
    def order(self, order_id: str) -> Order | None: ...

    @abstractmethod
    def set_status(
        self, order: Order, status: OrderStatus, at: datetime, refund_amount: int | None
    ) -> Order: ...

    @abstractmethod
    def forget_customer_order(self, order: Order) -> None:
        """The batch's copy of the customer's orders no longer holds this one as it was."""

    @abstractmethod
    def give_back_unit(self, order: Order) -> None:
        """The order no longer holds a unit of its variant (the live count)."""

    def insert_payment(self, order: Order, payment: Payment) -> None:
        self._new_payments[order.sequence] = (order, payment)

    def flush_payments(self) -> None:
        self.insert_all(
            PAYMENT_ROWS,
            [
                (
                    order.sequence,
                    self.launch_id(order.launch),
                    payment.provider,
                    payment.status.value,
                    payment.amount_minor,
                    payment.currency,
                    to_micros(payment.hold_until),
                    payment.intent_id,
                    payment.client_secret,
                    None if payment.paid_at is None else to_micros(payment.paid_at),
                    to_micros(order.placed_at),
                )
                for order, payment in self._new_payments.values()
            ],
        )
        self._new_payments.clear()

    def payment(self, order: Order) -> Payment | None:
        unwritten = self._new_payments.get(order.sequence)
        if unwritten is not None:
            return unwritten[1]
        row = self.execute(
            f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE order_seq = ?", (order.sequence,)
        ).fetchone()
        return None if row is None else payment_from_row(order.id, row)

    def set_payment(self, order: Order, payment: Payment) -> None:
        if order.sequence in self._new_payments:
            self._new_payments[order.sequence] = (order, payment)
            return
        self.execute(
            "UPDATE payments SET status = ?, hold_until_us = ?, intent_id = ?,"
            " client_secret = ?, paid_at_us = ?, updated_at_us = ? WHERE order_seq = ?",
            (
                payment.status.value,
                to_micros(payment.hold_until),
                payment.intent_id,
                payment.client_secret,
                None if payment.paid_at is None else to_micros(payment.paid_at),
                to_micros(payment.paid_at or payment.hold_until),
                order.sequence,
            ),
        )

    def take_event(self, provider: str, event_id: str, type: str, at: datetime) -> bool:
        cursor = self.execute(
            "INSERT INTO payment_events (provider, event_id, type, received_at_us)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (provider, event_id, type, to_micros(at)),
        )
        # RETURNING, not the row count: PostgreSQL's pipeline gives no count until synced.
        return cursor.fetchone() is not None

    def pay_order(self, order: Order, status: OrderStatus, refundable_until: datetime) -> Order:
        locked_at = to_micros(refundable_until) if status is OrderStatus.LOCKED else None
        self.execute(
            "UPDATE orders SET status = ?, refundable_until_us = ?, locked_at_us = ? WHERE seq = ?",
            (status.value, to_micros(refundable_until), locked_at, order.sequence),
        )
        self.execute(
            "UPDATE variants SET paid = paid + 1 WHERE launch_id = ? AND sku = ?",
            (self.launch_id(order.launch), order.sku),
        )
        changed = replace(
            order,
            status=status,
            refundable_until=refundable_until,
            locked_at=refundable_until if locked_at is not None else None,
        )
        self.forget_customer_order(changed)
        return changed

    def expire_order(self, order: Order, at: datetime) -> Order:
        # The time is the order's event's (not cancelled_at: it was not cancelled).
        self.execute("UPDATE orders SET status = 'expired' WHERE seq = ?", (order.sequence,))
        self.execute(
            "UPDATE variants SET expired = expired + 1 WHERE launch_id = ? AND sku = ?",
            (self.launch_id(order.launch), order.sku),
        )
        self.give_back_unit(order)
        changed = replace(order, status=OrderStatus.EXPIRED)
        self.forget_customer_order(changed)
        return changed

    def add_transfer(self, order: Order, kind: TransferKind, amount: int, at: datetime) -> bool:
        cursor = self.execute(
            "INSERT INTO ledger_transfers (launch_id, order_seq, kind, amount_minor, at_us)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (self.launch_id(order.launch), order.sequence, kind.value, amount, to_micros(at)),
        )
        return cursor.fetchone() is not None

    def move_transfer(self, order: Order, kind: TransferKind, at: datetime) -> None:
        self.execute(
            "UPDATE ledger_transfers SET at_us = ? WHERE order_seq = ? AND kind = ? AND at_us > ?",
            (to_micros(at), order.sequence, kind.value, to_micros(at)),
        )

    def withdraw_transfer(self, order: Order, kind: TransferKind) -> None:
        self.execute(
            "DELETE FROM ledger_transfers WHERE order_seq = ? AND kind = ?",
            (order.sequence, kind.value),
        )

    def owe_refund(self, order: Order, amount: int, at: datetime) -> None:
        self.execute(
            "INSERT INTO refunds (order_seq, launch_id, status, amount_minor, attempts,"
            " next_attempt_at_us, updated_at_us) VALUES (?, ?, 'owed', ?, 0, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (order.sequence, self.launch_id(order.launch), amount, to_micros(at), to_micros(at)),
        )

    def refund(self, order: Order) -> RefundRecord | None:
        row = self.execute(
            f"SELECT {REFUND_COLUMNS} FROM refunds r WHERE r.order_seq = ?", (order.sequence,)
        ).fetchone()
        return None if row is None else refund_from_row(order.id, order.launch, row)

    def set_refund(self, refund: RefundRecord, at: datetime) -> None:
        self.execute(
            "UPDATE refunds SET status = ?, provider_refund_id = ?, attempts = ?,"
            " next_attempt_at_us = ?, last_error = ?, updated_at_us = ?"
            " WHERE order_seq = (SELECT seq FROM orders WHERE id = ?)",
            (
                refund.status,
                refund.provider_refund_id,
                refund.attempts,
                to_micros(refund.next_attempt_at),
                refund.last_error,
                to_micros(at),
                refund.order_id,
            ),
        )
