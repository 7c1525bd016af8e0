"""Delivery centres and handovers: the buyer picks the centre a car is collected at
(when ordering or later, until its handover is booked) and, once the car is built,
books a handover slot there. docs/stores.md, "Delivery centres and handovers".

A handover is booked like a test drive: one function on the store's writer that counts
the slot's handovers inside its transaction (on PostgreSQL under the slot's lock), so a
centre's bays are never booked twice over, on either database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from launchday.domain.booking import (
    Booking,
    BookingClosed,
    BookingKind,
    BookingStatus,
    check_bookable,
)
from launchday.domain.errors import NotFound, ValidationFailed
from launchday.domain.handover import (
    Readiness,
    at_centre,
    check_centre,
    check_centre_change,
    check_ready,
    scheduled_handover,
)
from launchday.domain.order import Order, delivery_window
from launchday.domain.retail_store import RetailStore
from launchday.domain.slots import (
    Slot,
    check_room,
    free_places,
    local_day,
    slot_at,
    slot_quota,
    slots_between,
)
from launchday.services.delivery import Deliveries
from launchday.services.ids import new_id
from launchday.services.orders import Orders
from launchday.services.ports.locks import WriteScope
from launchday.services.ports.orders import customer as customer_lock
from launchday.services.ports.retail import bookings_of, slot_lock
from launchday.services.ports.store import WriteTx
from launchday.services.retail_stores import RetailStores

HANDOVER = BookingKind.HANDOVER
WEEK = timedelta(weeks=1)


class Handovers:
    """The delivery centres on orders and the handovers booked at them."""

    def __init__(self, orders: Orders, stores: RetailStores, deliveries: Deliveries) -> None:
        self.orders = orders
        self.stores = stores
        self.deliveries = deliveries
        self.launches = orders.launches
        self.store = orders.store
        self.clock = orders.clock
        self.new_id = new_id

    def centre(self, centre_id: str, field: str = "delivery_centre") -> RetailStore:
        """The delivery centre with this id (a store that hands cars over), or a 4xx."""
        found = self.stores.all().get(centre_id)
        if found is None:
            raise NotFound(f"no store {centre_id!r}", field=field)
        return check_centre(found, field)

    def logistics_weeks(self, order: Order) -> int:
        """The weeks the order's centre adds to its promise (0 without a centre, or one no
        longer listed)."""
        if order.delivery_centre is None:
            return 0
        found = self.stores.all().get(order.delivery_centre)
        return 0 if found is None else found.logistics_weeks

    async def choose_centre(self, order_id: str, customer: str | None, centre_id: str) -> Order:
        """Set the order's delivery centre (its buyer, or staff when `customer` is None),
        until its car is scheduled for handover."""
        known = self.orders.get(order_id, customer)
        centre = self.centre(centre_id)
        launch = self.launches.get(known.launch)

        def choose(tx: WriteTx, now: datetime) -> Order:
            order = tx.order(order_id)
            assert order is not None  # orders are never deleted
            if order.delivery_centre == centre.id:
                return order  # a retry
            booked = tx.customer_bookings(order.launch, order.customer, HANDOVER)
            check_centre_change(order, scheduled_handover(order, booked, now))
            changed = tx.set_delivery_centre(order, centre.id)
            at = launch.clock(now)
            tx.record_event(
                changed, changed.status_at(at), at, "customer", f"delivery centre {centre.id}"
            )
            return changed

        locks = (customer_lock(known.customer), bookings_of(known.customer))
        return await self.store.write(choose, WriteScope(known.launch, locks))

    async def readiness(self, order: Order) -> Readiness | None:
        """When the order's car is built and can reach its centre (None: the launch
        cannot say, e.g. past its plan's horizon)."""
        launch = self.launches.get(order.launch)
        at = launch.clock(self.clock())
        weeks = self.logistics_weeks(order)
        estimate = await self.deliveries.estimate(order)  # None without a plan
        if estimate is not None:
            promise, plan = estimate.promise, self.deliveries.plan(order.launch)
            if promise.build_week is None or promise.first_day is None:
                return None
            built_on = plan.weeks_start + (promise.build_week + 1) * WEEK
            return Readiness(plan.local_date(at) >= built_on, at_centre(promise.first_day, weeks))
        window = delivery_window(order, launch.variant(order.sku))
        if window is None:  # a car from stock: ready once the order is firm
            firm = order.locked_at or order.refundable_until
            return Readiness(at >= firm, at_centre(firm.date(), weeks))
        return Readiness(at >= window[0], at_centre(window[0].date(), weeks))

    async def _ready(self, order: Order) -> tuple[RetailStore, Readiness]:
        if order.delivery_centre is None:
            raise ValidationFailed("choose a delivery centre first", "delivery_centre")
        centre = self.centre(order.delivery_centre)
        launch = self.launches.get(order.launch)
        status = order.status_at(launch.clock(self.clock()))
        return centre, check_ready(status, await self.readiness(order))

    async def free_slots(
        self, order_id: str, customer: str | None, first: date | None, days: int
    ) -> tuple[Order, RetailStore, list[tuple[Slot, int]]]:
        """The centre's handover slots over `days` local dates from `first` (today at the
        centre if None), from the first day the car can be there, each with its free bays."""
        order = self.orders.get(order_id, customer)
        centre, ready = await self._ready(order)
        now = self.clock()
        day = max(first if first is not None else local_day(centre, now), ready.first_day)
        every = slots_between(centre, day, days, centre.handover_minutes)
        slots = [s for s in every if s.start > now]
        if not slots:
            return order, centre, []
        counts = self.store.reads.slot_counts(
            centre.id, HANDOVER, None, slots[0].start, slots[-1].end, now
        )
        bays = centre.handover_bays
        return order, centre, [(s, free_places(bays, counts.get(s.start, 0))) for s in slots]

    async def book(self, order_id: str, customer: str, start: datetime) -> tuple[Booking, bool]:
        """Book (or move) the order's handover to the slot at `start`; (booking, replayed)."""
        order = self.orders.get(order_id, customer)
        centre, ready = await self._ready(order)
        slot = slot_at(centre, start, centre.handover_minutes)
        if local_day(centre, slot.start) < ready.first_day:
            raise ValidationFailed(
                f"the car can be at {centre.id} from {ready.first_day.isoformat()}", "start"
            )
        check_bookable(slot.start, self.clock())
        quota = slot_quota(centre, "handover", slot, centre.handover_bays)
        booking_id = self.new_id()

        def book(tx: WriteTx, now: datetime) -> tuple[Booking, bool]:
            current = tx.order(order_id)
            assert current is not None
            if current.delivery_centre != centre.id:
                raise BookingClosed("the order's delivery centre changed: look again", "id")
            booked = tx.customer_bookings(order.launch, customer, HANDOVER)
            scheduled = scheduled_handover(current, booked, now)
            if scheduled is not None and (scheduled.store, scheduled.start) == (
                centre.id,
                slot.start,
            ):
                return scheduled, True
            if scheduled is not None and scheduled.status_at(now) is BookingStatus.DONE:
                raise BookingClosed("the car has been handed over", "id")
            check_bookable(slot.start, now)
            check_room(quota, tx.slot_count(centre.id, HANDOVER, None, slot.start, now))
            if scheduled is not None:  # moved: the old slot is freed in the same write
                moved = replace(scheduled, store=centre.id, start=slot.start, end=slot.end)
                tx.update_booking(moved)
                return moved, False
            booking = Booking(
                booking_id, 0, HANDOVER, order.launch, centre.id, order.sku, customer,
                slot.start, slot.end, BookingStatus.CONFIRMED, now, order_id=order.id,
            )  # fmt: skip
            return tx.insert_booking(booking), False

        locks = (bookings_of(customer), slot_lock(centre.id, slot.start))
        return await self.store.write(book, WriteScope(order.launch, locks))

    def of_order(self, order_id: str, customer: str | None) -> Booking | None:
        """The order's handover booked and not given up, if any."""
        order = self.orders.get(order_id, customer)
        booked = self.store.reads.customer_bookings(order.launch, order.customer)
        return scheduled_handover(order, booked, self.clock())

    async def cancel(self, order_id: str, customer: str) -> Booking:
        """Give up the order's handover slot (the centre may change again)."""
        found = self.of_order(order_id, customer)
        if found is None:
            raise BookingClosed("the order has no handover booked", "id")

        def cancel(tx: WriteTx, now: datetime) -> Booking:
            booking = tx.booking(found.id)
            assert booking is not None
            if booking.status_at(now) is BookingStatus.CANCELLED:
                return booking
            if booking.status_at(now) is not BookingStatus.CONFIRMED or booking.start <= now:
                raise BookingClosed("the handover has begun: ask the centre", "id")
            changed = replace(booking, status=BookingStatus.CANCELLED)
            tx.update_booking(changed)
            return changed

        return await self.store.write(cancel, WriteScope(found.launch, (bookings_of(customer),)))
