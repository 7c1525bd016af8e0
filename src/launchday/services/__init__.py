"""The use cases, one module per aggregate, over the ports (`launchday.services.ports`).

`Services` holds them for one store and one clock; the composition root
(`launchday.app`) makes it and hands it to the API and the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from launchday.services.access import Access
from launchday.services.admission_tokens import AdmissionTokens
from launchday.services.bookings import Bookings
from launchday.services.delivery import Deliveries
from launchday.services.handovers import Handovers
from launchday.services.interest import InterestRegistry
from launchday.services.launches import Launches
from launchday.services.orders import Orders
from launchday.services.payments import Payments
from launchday.services.ports.payments import PaymentProvider
from launchday.services.ports.store import Store
from launchday.services.retail_stores import RetailStores
from launchday.services.store_orders import StoreOrders
from launchday.services.supply import Supply
from launchday.services.token_secrets import TokenSecrets
from launchday.services.waiting_room import WaitingRooms


@dataclass(frozen=True, slots=True)
class Services:
    """Every use case of one store."""

    store: Store
    clock: Callable[[], datetime]
    launches: Launches
    interest: InterestRegistry
    waiting_rooms: WaitingRooms
    orders: Orders
    tokens: AdmissionTokens
    deliveries: Deliveries
    supply: Supply
    payments: Payments
    access: Access
    token_secrets: TokenSecrets
    stores: RetailStores
    bookings: Bookings
    handovers: Handovers
    store_orders: StoreOrders


def make_services(
    store: Store,
    clock: Callable[[], datetime],
    secret: bytes | None = None,
    providers: Mapping[str, PaymentProvider] | None = None,
) -> Services:
    """The use cases over `store`; the tokens' secret may be given later
    (`tokens.use_secret`), once the store can be asked for it."""
    launches = Launches(store, clock)
    tokens = AdmissionTokens(secret)
    rooms = WaitingRooms(store, clock, tokens, launches.get)
    deliveries = Deliveries(launches)
    payments = Payments(launches, providers or {})
    stores = RetailStores(store, clock)
    orders = Orders(launches, rooms, payments)
    handovers = Handovers(orders, stores, deliveries)
    return Services(
        store=store,
        clock=clock,
        launches=launches,
        interest=InterestRegistry(launches),
        waiting_rooms=rooms,
        orders=orders,
        tokens=tokens,
        deliveries=deliveries,
        supply=Supply(deliveries),
        payments=payments,
        access=Access(launches),
        token_secrets=TokenSecrets(store, clock),
        stores=stores,
        bookings=Bookings(launches, stores),
        handovers=handovers,
        store_orders=StoreOrders(orders, stores, handovers),
    )
