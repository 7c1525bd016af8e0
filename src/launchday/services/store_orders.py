"""Store-assisted orders: a store's staff place an order for a walk-in buyer, see their
store's orders and cancel one for its buyer. docs/stores.md, "Orders in a store".

A store order goes through the very path of an online one (`Orders.place`): the same
idempotency, per-customer limit and limited stock in the same transaction, and the same
waiting room: the buyer's own admission is needed, so a store is not a side door past
the queue. It records its channel, the store and the staff member.
"""

from __future__ import annotations

from launchday.domain.errors import NotFound, ValidationFailed
from launchday.domain.order import Channel, Order, Origin, Profile
from launchday.domain.retail_store import StoreKind
from launchday.services.handovers import Handovers
from launchday.services.orders import Orders, Placed
from launchday.services.retail_stores import RetailStores

MAX_LISTED = 500


class StoreOrders:
    """The orders placed in the brand's stores by their staff."""

    def __init__(self, orders: Orders, stores: RetailStores, handovers: Handovers) -> None:
        self.orders = orders
        self.stores = stores
        self.handovers = handovers

    async def place(
        self,
        store_id: str,
        staff: str,
        slug: str,
        customer: str,
        key: str,
        sku: str,
        profile: Profile | None,
        admission_token: str | None,
        centre: str | None,
    ) -> Placed:
        """Place the walk-in buyer's order at the store (see the module)."""
        store = self.stores.get(store_id)
        if not store.is_a(StoreKind.SALES):
            raise ValidationFailed(f"{store_id} does not sell cars", "store")
        if centre is not None:
            self.handovers.centre(centre)
        origin = Origin(Channel.STORE, store.id, staff, centre)
        return await self.orders.place(slug, customer, key, sku, profile, admission_token, origin)

    def of_store(self, store_id: str, launch: str | None, limit: int = MAX_LISTED) -> list[Order]:
        """The store's orders, newest first."""
        self.stores.get(store_id)
        if launch is not None:
            self.orders.launches.get(launch)
        return self.orders.store.reads.store_orders(store_id, launch, min(limit, MAX_LISTED))

    def get(self, store_id: str, order_id: str, launch: str | None = None) -> Order:
        """One of the store's orders; another store's, or an online one, is NotFound."""
        order = self.orders.get(order_id, None, launch)
        if order.store != store_id:
            raise NotFound(f"no order {order_id!r} at {store_id}", field="id")
        return order

    async def cancel(self, store_id: str, staff: str, order_id: str) -> Order:
        """Cancel one of the store's orders for its buyer, inside its window."""
        order = self.get(store_id, order_id)
        return await self.orders.cancel(order.id, order.customer, by=f"staff {staff}")
