"""Stores and bookings as stored, and their writes inside a batch's transaction, for
both databases.

A store is kept whole as JSON in its own format (the API's body may change apart),
with its region beside it for buyers' filters. A booking is a row; its slot's count is
worked out in the transaction that books it, under the slot's lock on PostgreSQL.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

import msgspec

from launchday.domain.booking import Booking, BookingKind, BookingStatus
from launchday.domain.clock import from_micros, to_micros
from launchday.domain.retail_store import Hours, HoursException, RetailStore, StoreKind

BOOKING_COLUMNS = (
    "b.seq, b.id, b.kind, l.slug, b.store_id, b.sku, b.customer, b.start_us, b.end_us,"
    " b.status, b.created_at_us, b.held_until_us, b.order_id, b.staff, b.channel"
)
BOOKING_FROM = "bookings b JOIN launches l ON l.id = b.launch_id"


class _Hours(msgspec.Struct, frozen=True):
    days: tuple[str, ...]
    opens: time
    closes: time


class _Exception(msgspec.Struct, frozen=True):
    day: date
    opens: time | None = None
    closes: time | None = None


class _Store(msgspec.Struct, frozen=True):
    id: str
    name: str
    kinds: tuple[str, ...]
    city: str
    region: str
    lat: float
    lon: float
    timezone: str
    hours: tuple[_Hours, ...]
    exceptions: tuple[_Exception, ...] = ()
    demo_cars: tuple[tuple[str, int], ...] = ()
    test_drive_minutes: int = 60
    handover_bays: int = 0
    handover_minutes: int = 90
    logistics_weeks: int = 0


_decode = msgspec.json.Decoder(_Store).decode
_encode = msgspec.json.Encoder().encode


def encode_store(store: RetailStore) -> bytes:
    return _encode(
        _Store(
            store.id, store.name, tuple(sorted(k.value for k in store.kinds)), store.city,
            store.region, store.lat, store.lon, store.timezone,
            tuple(_Hours(h.days, h.opens, h.closes) for h in store.hours),
            tuple(_Exception(e.day, e.opens, e.closes) for e in store.exceptions),
            store.demo_cars, store.test_drive_minutes, store.handover_bays,
            store.handover_minutes, store.logistics_weeks,
        )
    )  # fmt: skip


def decode_store(data: bytes) -> RetailStore:
    s = _decode(data)
    return RetailStore(
        s.id, s.name, frozenset(StoreKind(k) for k in s.kinds), s.city, s.region, s.lat,
        s.lon, s.timezone, tuple(Hours(h.days, h.opens, h.closes) for h in s.hours),
        tuple(HoursException(e.day, e.opens, e.closes) for e in s.exceptions),
        tuple((sku, cars) for sku, cars in s.demo_cars), s.test_drive_minutes,
        s.handover_bays, s.handover_minutes, s.logistics_weeks,
    )  # fmt: skip


def _time(micros: Any) -> datetime | None:
    return None if micros is None else from_micros(int(micros))


def booking_from_row(row: Sequence[Any]) -> Booking:
    """A booking from its `BOOKING_COLUMNS`."""
    seq, id, kind, launch, store, sku, customer, start, end, status = row[:10]
    created, held_until, order_id, staff, channel = row[10:]
    return Booking(
        id, int(seq), BookingKind(kind), launch, store, sku, customer,
        from_micros(int(start)), from_micros(int(end)), BookingStatus(status),
        from_micros(int(created)), _time(held_until), order_id, staff, channel,
    )  # fmt: skip


class RetailTx:
    """Mixed into `SqlWriteTx`, whose statements it runs."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    def launch_id(self, slug: str) -> int: ...

    def save_store(self, store: RetailStore, at: datetime) -> None:
        """Keep the store, in place of the one with its id if any."""
        self.execute(
            "INSERT INTO retail_stores (id, region, spec, updated_at_us) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET region = excluded.region, spec = excluded.spec,"
            " updated_at_us = excluded.updated_at_us",
            (store.id, store.region, encode_store(store), to_micros(at)),
        )

    def slot_count(
        self, store: str, kind: BookingKind, sku: str | None, start: datetime, now: datetime
    ) -> int:
        """Bookings of the kind (of the variant, if given) taking a place in the slot of
        `store` beginning at `start`, as of `now`: confirmed, or held and not lapsed."""
        sql = (
            "SELECT count(*) FROM bookings WHERE store_id = ? AND start_us = ? AND kind = ?"
            " AND (status = 'confirmed' OR (status = 'held' AND held_until_us > ?))"
        )
        params: list[Any] = [store, to_micros(start), kind.value, to_micros(now)]
        if sku is not None:
            sql += " AND sku = ?"
            params.append(sku)
        return int(self.execute(sql, params).fetchone()[0])

    def customer_bookings(self, launch: str, customer: str, kind: BookingKind) -> list[Booking]:
        """The customer's bookings of the kind in the launch."""
        rows = self.execute(
            f"SELECT {BOOKING_COLUMNS} FROM {BOOKING_FROM}"
            " WHERE b.launch_id = ? AND b.customer = ? AND b.kind = ? ORDER BY b.seq",
            (self.launch_id(launch), customer, kind.value),
        ).fetchall()
        return [booking_from_row(row) for row in rows]

    def booking(self, booking_id: str) -> Booking | None:
        row = self.execute(
            f"SELECT {BOOKING_COLUMNS} FROM {BOOKING_FROM} WHERE b.id = ?", (booking_id,)
        ).fetchone()
        return None if row is None else booking_from_row(row)

    def insert_booking(self, booking: Booking) -> Booking:
        """Store a new booking; it, with its sequence."""
        cursor = self.execute(
            "INSERT INTO bookings (id, kind, launch_id, store_id, sku, customer, start_us,"
            " end_us, status, held_until_us, created_at_us, order_id, staff, channel)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
            (
                booking.id, booking.kind.value, self.launch_id(booking.launch), booking.store,
                booking.sku, booking.customer, to_micros(booking.start), to_micros(booking.end),
                booking.status.value,
                None if booking.held_until is None else to_micros(booking.held_until),
                to_micros(booking.created_at), booking.order_id, booking.staff, booking.channel,
            ),
        )  # fmt: skip
        seq = int(cursor.fetchone()[0])
        return replace(booking, sequence=seq)

    def update_booking(self, booking: Booking) -> None:
        """Keep a booking's new status, slot, hold and staff member."""
        self.execute(
            "UPDATE bookings SET status = ?, store_id = ?, start_us = ?, end_us = ?,"
            " held_until_us = ?, staff = ? WHERE id = ?",
            (
                booking.status.value, booking.store, to_micros(booking.start),
                to_micros(booking.end),
                None if booking.held_until is None else to_micros(booking.held_until),
                booking.staff, booking.id,
            ),
        )  # fmt: skip
