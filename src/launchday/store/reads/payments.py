"""Reads of payments: an order's payment and refund, the holds and refunds due, and a
launch's ledger beside what its orders say it must hold."""

from __future__ import annotations

from datetime import datetime

from launchday.domain.clock import to_micros
from launchday.domain.ledger import TransferKind
from launchday.domain.order import Order
from launchday.domain.payment import Payment
from launchday.services.ports.payment_records import LedgerFigures, RefundRecord
from launchday.store.payments_tx import (
    PAYMENT_COLUMNS,
    REFUND_COLUMNS,
    payment_from_row,
    refund_from_row,
)
from launchday.store.reads.point import PointReads
from launchday.store.row_mapping import ORDER_COLUMNS, ORDER_WIDTH, order_from_row
from launchday.store.sql import ReadConnection

_PAID = "p.status = 'succeeded'"


class PaymentReads(PointReads):
    """Implements the payments read port."""

    def payment_of(self, order_id: str) -> Payment | None:
        row = self._session.run(
            lambda db: db.one(
                f"SELECT {PAYMENT_COLUMNS} FROM payments"
                " WHERE order_seq = (SELECT seq FROM orders WHERE id = :id)",
                {"id": order_id},
            )
        )
        return None if row is None else payment_from_row(order_id, row)

    def refund_of(self, order_id: str) -> RefundRecord | None:
        row = self._session.run(
            lambda db: db.one(
                f"SELECT {REFUND_COLUMNS}, l.slug FROM refunds r"
                " JOIN orders o ON o.seq = r.order_seq JOIN launches l ON l.id = r.launch_id"
                " WHERE o.id = :id",
                {"id": order_id},
            )
        )
        return None if row is None else refund_from_row(order_id, row[6], row)

    def payment_counts(self, launch: str) -> tuple[int, int]:
        def read(db: ReadConnection) -> tuple[int, int]:
            launch_id = self._launch_id(db, launch)
            row = db.first(
                "SELECT coalesce(sum(paid), 0), coalesce(sum(expired), 0) FROM variants"
                " WHERE launch_id = :launch",
                {"launch": launch_id},
            )
            return int(row[0]), int(row[1])

        return self._session.run(read)

    def order_of_intent(self, intent_id: str) -> str | None:
        row = self._session.run(
            lambda db: db.one(
                "SELECT o.id FROM payments p JOIN orders o ON o.seq = p.order_seq"
                " WHERE p.intent_id = :intent",
                {"intent": intent_id},
            )
        )
        return None if row is None else str(row[0])

    def due_holds(self, launch: str, at: datetime, limit: int) -> list[tuple[Order, Payment]]:
        def read(db: ReadConnection) -> list[tuple[Order, Payment]]:
            launch_id = self._launch_id(db, launch)
            rows = db.all(
                f"SELECT {ORDER_COLUMNS}, p.status, p.amount_minor, p.currency,"
                " p.hold_until_us, p.intent_id, p.client_secret, p.paid_at_us, p.provider"
                " FROM payments p JOIN orders o ON o.seq = p.order_seq"
                " JOIN launches l ON l.id = o.launch_id"
                " WHERE p.launch_id = :launch AND p.status IN ('awaiting', 'processing')"
                " AND p.hold_until_us <= :at AND o.status = 'pending_payment'"
                " ORDER BY p.hold_until_us LIMIT :limit",
                {"launch": launch_id, "at": to_micros(at), "limit": limit},
            )
            found = []
            for row in rows:
                order = order_from_row(row[:ORDER_WIDTH])
                found.append((order, payment_from_row(order.id, row[ORDER_WIDTH:])))
            return found

        return self._session.run(read)

    def due_refunds(self, at_us: dict[str, int], limit: int) -> list[RefundRecord]:
        def read(db: ReadConnection) -> list[RefundRecord]:
            found: list[RefundRecord] = []
            for launch, at in at_us.items():
                launch_id = self._launch_id(db, launch)
                rows = db.all(
                    f"SELECT {REFUND_COLUMNS}, o.id FROM refunds r"
                    " JOIN orders o ON o.seq = r.order_seq"
                    " WHERE r.launch_id = :launch AND r.status IN ('owed', 'failed')"
                    " AND r.next_attempt_at_us <= :at ORDER BY r.next_attempt_at_us LIMIT :limit",
                    {"launch": launch_id, "at": at, "limit": limit},
                )
                found += [refund_from_row(row[6], launch, row) for row in rows]
            return found

        return self._session.run(read)

    def ledger_figures(self, launch: str, at: datetime) -> LedgerFigures:
        def read(db: ReadConnection) -> LedgerFigures:
            launch_id = self._launch_id(db, launch)
            params = {"launch": launch_id, "at": to_micros(at)}
            rows = db.all(
                "SELECT kind, sum(amount_minor) FROM ledger_transfers"
                " WHERE launch_id = :launch AND at_us <= :at GROUP BY kind",
                params,
            )
            totals = dict.fromkeys(TransferKind, 0)
            totals.update({TransferKind(kind): int(total) for kind, total in rows})
            # What the orders say, as of `at`: a paid reserved order whose window has
            # ended reads as locked, as its status does.
            row = db.first(
                "SELECT"
                f" coalesce(sum(CASE WHEN {_PAID} AND o.status = 'reserved'"
                "   AND o.refundable_until_us > :at THEN p.amount_minor END), 0),"
                f" coalesce(sum(CASE WHEN {_PAID} AND (o.status = 'locked'"
                "   OR (o.status = 'reserved' AND o.refundable_until_us <= :at))"
                "   THEN p.amount_minor END), 0),"
                f" coalesce(sum(CASE WHEN {_PAID} THEN p.amount_minor END), 0)"
                " FROM payments p JOIN orders o ON o.seq = p.order_seq"
                " WHERE p.launch_id = :launch",
                params,
            )
            refunds = db.first(
                "SELECT coalesce(sum(CASE WHEN status != 'succeeded' THEN amount_minor END), 0),"
                " coalesce(sum(CASE WHEN status = 'succeeded' THEN amount_minor END), 0)"
                " FROM refunds WHERE launch_id = :launch",
                params,
            )
            return LedgerFigures(
                totals=totals,
                held=int(row[0]),
                locked=int(row[1]),
                refunds_owed=int(refunds[0]),
                refunded=int(refunds[1]),
                paid=int(row[2]),
            )

        return self._session.run(read)

    def deposits_of(self, launch: str) -> dict[str, tuple[int | None, int | None]]:
        """Per order of the launch with a payment: the amount paid (None if not) and
        the amount refunded (None if no refund succeeded)."""

        def read(db: ReadConnection) -> dict[str, tuple[int | None, int | None]]:
            launch_id = self._launch_id(db, launch)
            rows = db.all(
                "SELECT o.id, CASE WHEN p.status = 'succeeded' THEN p.amount_minor END,"
                " CASE WHEN r.status = 'succeeded' THEN r.amount_minor END"
                " FROM payments p JOIN orders o ON o.seq = p.order_seq"
                " LEFT JOIN refunds r ON r.order_seq = p.order_seq"
                " WHERE p.launch_id = :launch",
                {"launch": launch_id},
            )
            return {str(r[0]): (r[1], r[2]) for r in rows}

        return self._session.run(read)

    def payment_report(self, launch: str) -> dict[str, int]:
        """The report's counts of a launch's orders and refunds (see PaymentFigures)."""

        def read(db: ReadConnection) -> dict[str, int]:
            launch_id = self._launch_id(db, launch)
            params = {"launch": launch_id}
            orders = db.first(
                "SELECT count(*),"
                " count(CASE WHEN p.status = 'succeeded' THEN 1 END),"
                " count(CASE WHEN o.status = 'pending_payment' THEN 1 END),"
                " count(CASE WHEN o.status = 'expired' THEN 1 END)"
                " FROM payments p JOIN orders o ON o.seq = p.order_seq"
                " WHERE p.launch_id = :launch",
                params,
            )
            refunds = db.first(
                "SELECT count(CASE WHEN status = 'succeeded' THEN 1 END),"
                " count(CASE WHEN status IN ('owed', 'pending') THEN 1 END),"
                " count(CASE WHEN status = 'failed' THEN 1 END)"
                " FROM refunds WHERE launch_id = :launch",
                params,
            )
            names = ("placed", "paid", "pending", "expired")
            counts = {name: int(value) for name, value in zip(names, orders, strict=True)}
            sent = ("refunds_sent", "refunds_owed", "refunds_failed")
            counts.update({name: int(value) for name, value in zip(sent, refunds, strict=True)})
            return counts

        return self._session.run(read)

    def refunds_of(self, launch: str, status: str | None, limit: int) -> list[RefundRecord]:
        """The launch's refunds (of one status, if given), the latest attempts first."""

        def read(db: ReadConnection) -> list[RefundRecord]:
            launch_id = self._launch_id(db, launch)
            where = "" if status is None else " AND r.status = :status"
            rows = db.all(
                f"SELECT {REFUND_COLUMNS}, o.id FROM refunds r"
                " JOIN orders o ON o.seq = r.order_seq"
                f" WHERE r.launch_id = :launch{where}"
                " ORDER BY r.updated_at_us DESC, r.order_seq LIMIT :limit",
                {"launch": launch_id, "status": status, "limit": limit},
            )
            return [refund_from_row(row[6], launch, row) for row in rows]

        return self._session.run(read)
