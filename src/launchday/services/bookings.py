"""Test drives: a buyer sees a store's free slots for a variant, holds one, confirms it,
moves or cancels it; the store's staff see their day and mark each done or a no-show.

Each write is a function the store's writer runs in a group-committed transaction: it
counts the slot's bookings and the buyer's upcoming ones inside the transaction (on
PostgreSQL under the slot's and the buyer's locks), so a slot is never booked past its
capacity and no buyer past the launch's limit, whatever the concurrency.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date, datetime, timedelta

from launchday.domain.booking import (
    Booking,
    BookingKind,
    BookingStatus,
    buyer_may,
    check_bookable,
    check_upcoming_limit,
    staff_may,
)
from launchday.domain.errors import NotFound, ValidationFailed
from launchday.domain.retail_store import RetailStore, StoreKind
from launchday.domain.slots import (
    Slot,
    check_room,
    free_places,
    local_day,
    slot_at,
    slot_quota,
    slots_between,
)
from launchday.services.ids import new_id
from launchday.services.launches import Launches
from launchday.services.ports.locks import WriteScope
from launchday.services.ports.retail import bookings_of, slot_lock
from launchday.services.ports.store import WriteTx
from launchday.services.retail_stores import RetailStores

TEST_DRIVE = BookingKind.TEST_DRIVE


class Bookings:
    """The test drives of every launch of one store."""

    def __init__(self, launches: Launches, stores: RetailStores) -> None:
        self.launches = launches
        self.stores = stores
        self.store = launches.store
        self.clock = launches.clock
        self.new_id = new_id

    def _drive_store(self, slug: str, store_id: str, sku: str) -> RetailStore:
        self.launches.get(slug).variant(sku)
        store = self.stores.get(store_id)
        if not store.is_a(StoreKind.SALES) or store.demo_cars_of(sku) < 1:
            raise ValidationFailed(f"{store_id} has no {sku} for test drives", "store")
        return store

    def free_slots(
        self, slug: str, store_id: str, sku: str, first: date | None, days: int
    ) -> tuple[RetailStore, list[tuple[Slot, int]]]:
        """The store's slots for a test drive of `sku` over `days` local dates from
        `first` (today, at the store, if None) that have not begun, each with its free
        places: worked out from the store's hours, the counts in one indexed read."""
        store = self._drive_store(slug, store_id, sku)
        now = self.clock()
        day = first if first is not None else local_day(store, now)
        every = _offered(store, day, days, store.test_drive_minutes)
        slots = [s for s in every if s.start > now]
        if not slots:
            return store, []
        counts = self.store.reads.slot_counts(
            store.id, TEST_DRIVE, sku, slots[0].start, slots[-1].end, now
        )
        capacity = store.demo_cars_of(sku)
        return store, [(s, free_places(capacity, counts.get(s.start, 0))) for s in slots]

    async def hold(
        self, slug: str, customer: str, store_id: str, sku: str, start: datetime
    ) -> tuple[Booking, bool]:
        """Hold a slot for the buyer (to confirm within the launch's hold time); a
        repeat of the same hold gives the booking held before. (booking, replayed)"""
        launch = self.launches.get(slug)
        store = self._drive_store(slug, store_id, sku)
        launch.check_interest_open(self.clock())
        slot = slot_at(store, start, store.test_drive_minutes)
        check_bookable(slot.start, self.clock())
        quota = slot_quota(store, sku, slot, store.demo_cars_of(sku))
        booking_id = self.new_id()
        policy = launch.bookings

        def hold(tx: WriteTx, now: datetime) -> tuple[Booking, bool]:
            mine = tx.customer_bookings(slug, customer, TEST_DRIVE)
            for held in mine:
                if held.upcoming(now) and (held.store, held.sku, held.start) == (
                    store.id,
                    sku,
                    slot.start,
                ):
                    return held, True
            check_bookable(slot.start, now)
            check_upcoming_limit(sum(b.upcoming(now) for b in mine), policy.per_customer)
            check_room(quota, tx.slot_count(store.id, TEST_DRIVE, sku, slot.start, now))
            booking = Booking(
                booking_id, 0, TEST_DRIVE, slug, store.id, sku, customer, slot.start,
                slot.end, BookingStatus.HELD, now, held_until=now + policy.hold,
            )  # fmt: skip
            return tx.insert_booking(booking), False

        scope = WriteScope(slug, (bookings_of(customer), slot_lock(store.id, slot.start)))
        return await self.store.write(hold, scope)

    def get(
        self, booking_id: str, customer: str | None = None, kind: BookingKind = TEST_DRIVE
    ) -> Booking:
        """The booking of that kind, if `customer` made it (None: staff, checked by the
        caller); otherwise NotFound, never a hint."""
        booking = self.store.reads.booking(booking_id)
        if (
            booking is None
            or booking.kind is not kind
            or (customer is not None and booking.customer != customer)
        ):
            raise NotFound(f"no {kind.replace('_', ' ')} {booking_id!r}", field="id")
        return booking

    def of_customer(self, slug: str, customer: str) -> list[Booking]:
        """The buyer's test drives in the launch, oldest first."""
        self.launches.get(slug)
        found = self.store.reads.customer_bookings(slug, customer)
        return [b for b in found if b.kind is TEST_DRIVE]

    def of_store_day(self, store_id: str, day: date, slug: str | None) -> list[Booking]:
        """The store's bookings beginning on its local date `day`."""
        store = self.stores.get(store_id)
        if slug is not None:
            self.launches.get(slug)
        start = datetime.combine(day, datetime.min.time(), store.zone)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), store.zone)
        return self.store.reads.store_bookings(store.id, slug, start, end)

    async def by_buyer(self, booking_id: str, customer: str, target: BookingStatus) -> Booking:
        """Confirm or cancel the buyer's own booking."""
        known = self.get(booking_id, customer)

        def change(tx: WriteTx, now: datetime) -> Booking:
            booking = _current(tx, booking_id)
            if not buyer_may(booking, target, now):
                return booking
            changed = replace(booking, status=target, held_until=None)
            tx.update_booking(changed)
            return changed

        return await self.store.write(change, WriteScope(known.launch, (bookings_of(customer),)))

    async def reschedule(
        self, booking_id: str, customer: str, start: datetime, store_id: str | None
    ) -> Booking:
        """Move the buyer's booking to another slot (of the same store, or `store_id`),
        keeping its status: the new slot must have room, the old one is freed."""
        known = self.get(booking_id, customer)
        store = self._drive_store(known.launch, store_id or known.store, known.sku)
        slot = slot_at(store, start, store.test_drive_minutes)
        check_bookable(slot.start, self.clock())
        quota = slot_quota(store, known.sku, slot, store.demo_cars_of(known.sku))
        hold = self.launches.get(known.launch).bookings.hold

        def move(tx: WriteTx, now: datetime) -> Booking:
            booking = _current(tx, booking_id)
            if (booking.store, booking.start) == (store.id, slot.start):
                return booking  # a retry of a move made
            buyer_may(booking, BookingStatus.CANCELLED, now)  # movable while it could cancel
            check_bookable(slot.start, now)
            check_room(quota, tx.slot_count(store.id, TEST_DRIVE, booking.sku, slot.start, now))
            held = booking.status_at(now) is BookingStatus.HELD
            moved = replace(
                booking,
                store=store.id,
                start=slot.start,
                end=slot.end,
                held_until=now + hold if held else None,
            )
            tx.update_booking(moved)
            return moved

        locks = (bookings_of(customer), slot_lock(store.id, slot.start))
        return await self.store.write(move, WriteScope(known.launch, locks))

    async def by_staff(
        self,
        booking_id: str,
        store_id: str,
        staff: str,
        target: BookingStatus,
        kind: BookingKind = TEST_DRIVE,
    ) -> Booking:
        """Mark the store's booking (a test drive, or a handover) done or a no-show, or
        cancel it."""
        known = self.get(booking_id, kind=kind)
        if known.store != store_id:
            raise NotFound(f"no test drive {booking_id!r} at {store_id}", field="id")

        def change(tx: WriteTx, now: datetime) -> Booking:
            booking = _current(tx, booking_id)
            if not staff_may(booking, target, now):
                return booking
            changed = replace(booking, status=target, held_until=None, staff=staff)
            tx.update_booking(changed)
            return changed

        scope = WriteScope(known.launch, (bookings_of(known.customer),))
        return await self.store.write(change, scope)


@functools.lru_cache(maxsize=4096)
def _offered(store: RetailStore, first: date, days: int, minutes: int) -> tuple[Slot, ...]:
    """A store's slots over some days, worked out once: they change only with the store
    (a changed store is another key), and every buyer's page asks for them."""
    return tuple(slots_between(store, first, days, minutes))


def _current(tx: WriteTx, booking_id: str) -> Booking:
    booking = tx.booking(booking_id)
    assert booking is not None  # bookings are never deleted
    return booking
