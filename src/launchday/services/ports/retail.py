"""What the store keeps of the brand's stores and the bookings of their slots."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from launchday.domain.booking import Booking, BookingKind
from launchday.domain.retail_store import RetailStore
from launchday.services.ports.locks import Lock

STORES = Lock("stores")  # the brand's list of stores


def slot_lock(store: str, start: datetime) -> Lock:
    """A slot of a store, for the write that books it (taken on PostgreSQL)."""
    return Lock("slot", f"{store}@{int(start.timestamp() * 1_000_000)}")


def bookings_of(customer: str) -> Lock:
    """A customer's bookings in a launch, for the per-buyer limit."""
    return Lock("bookings", customer)


class RetailWrites(Protocol):
    def save_store(self, store: RetailStore, at: datetime) -> None:
        """Keep the store, in place of the one with its id if any."""

    def slot_count(
        self, store: str, kind: BookingKind, sku: str | None, start: datetime, now: datetime
    ) -> int:
        """Bookings taking a place in the slot (of the variant, if given) as of `now`."""

    def customer_bookings(self, launch: str, customer: str, kind: BookingKind) -> list[Booking]:
        """The customer's bookings of the kind in the launch."""

    def booking(self, booking_id: str) -> Booking | None: ...

    def insert_booking(self, booking: Booking) -> Booking:
        """Store a new booking; it, with its sequence."""

    def update_booking(self, booking: Booking) -> None:
        """Keep a booking's new status, slot, hold and staff member."""


class RetailReads(Protocol):
    def retail_stores(self) -> list[RetailStore]:
        """Every store of the brand, by id."""

    def booking(self, booking_id: str) -> Booking | None: ...

    def slot_counts(
        self,
        store: str,
        kind: BookingKind,
        sku: str | None,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> dict[datetime, int]:
        """Per slot start in [start, end): the bookings taking a place as of `now`."""

    def store_bookings(
        self, store: str, launch: str | None, start: datetime, end: datetime
    ) -> list[Booking]:
        """The store's bookings beginning in [start, end) (of one launch, if given)."""

    def customer_bookings(self, launch: str, customer: str) -> list[Booking]:
        """The customer's bookings in the launch, oldest first."""
