"""The order book's writes and the orders' reads."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import ONLINE, NewOrder, Order, OrderEvent, Origin, Profile
from launchday.domain.order_book import BookSnapshot
from launchday.services.ports.locks import Lock

ORDER_BOOK = Lock("order_book")
"""A launch's order book: its stock, counters and order sequence."""


def customer(id: str) -> Lock:
    """A customer's orders, limit and registration in a launch."""
    return Lock("customer", id)


class OrderWrites(Protocol):
    def order_book(
        self, launch: str, customer: str, key: str, skus: Collection[str]
    ) -> BookSnapshot:
        """What placing an order reads, in one call: the customer's order under `key`,
        the customer's live orders, and the live orders of `skus`."""

    def insert_order(
        self,
        launch: str,
        customer: str,
        key: str,
        request_hash: bytes,
        order_id: str,
        terms: NewOrder,
        profile: Profile | None,
        origin: Origin = ONLINE,
    ) -> Order:
        """Store an accepted order and count it against its variant."""

    def set_delivery_centre(self, order: Order, centre: str) -> Order:
        """Record the delivery centre the buyer collects the car at."""

    def order(self, order_id: str) -> Order | None:
        """The order with this id, read inside the transaction."""

    def set_status(
        self, order: Order, status: OrderStatus, at: datetime, refund_amount: int | None
    ) -> Order:
        """Change an order's stored status (the caller has checked the transition)."""

    def record_event(
        self, order: Order, status: OrderStatus, at: datetime, by: str, detail: str | None
    ) -> None:
        """Append to the order's audit trail."""


class OrderReads(Protocol):
    def order(self, order_id: str) -> Order | None:
        """The order with this id."""

    def order_owner(self, order_id: str) -> tuple[str, str] | None:
        """The launch and the customer of the order with this id (a lighter read than
        the whole order, for a change the write transaction reads it for anyway)."""

    def store_orders(self, store: str, launch: str | None, limit: int) -> list[Order]:
        """The orders a store placed (of one launch, if given), newest first."""

    def order_events(self, order_id: str) -> list[OrderEvent]:
        """The order's recorded transitions, oldest first."""
