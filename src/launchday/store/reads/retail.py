"""Reads of the brand's stores and the bookings of their slots."""

from __future__ import annotations

from datetime import datetime

from launchday.domain.booking import Booking, BookingKind
from launchday.domain.clock import from_micros, to_micros
from launchday.domain.retail_store import RetailStore
from launchday.store.reads.point import PointReads
from launchday.store.retail_tx import BOOKING_COLUMNS, BOOKING_FROM, booking_from_row, decode_store


class RetailReads(PointReads):
    """Implements the retail read port."""

    def retail_stores(self) -> list[RetailStore]:
        rows = self._session.run(lambda db: db.all("SELECT spec FROM retail_stores ORDER BY id"))
        return [decode_store(bytes(row[0])) for row in rows]

    def booking(self, booking_id: str) -> Booking | None:
        row = self._session.run(
            lambda db: db.one(
                f"SELECT {BOOKING_COLUMNS} FROM {BOOKING_FROM} WHERE b.id = :id",
                {"id": booking_id},
            )
        )
        return None if row is None else booking_from_row(row)

    def slot_counts(
        self,
        store: str,
        kind: BookingKind,
        sku: str | None,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> dict[datetime, int]:
        params: dict[str, object] = {
            "store": store,
            "kind": kind.value,
            "start": to_micros(start),
            "end": to_micros(end),
            "now": to_micros(now),
        }
        of_sku = ""
        if sku is not None:
            of_sku, params["sku"] = " AND sku = :sku", sku
        rows = self._session.run(
            lambda db: db.all(
                "SELECT start_us, count(*) FROM bookings"
                " WHERE store_id = :store AND start_us >= :start AND start_us < :end"
                f" AND kind = :kind{of_sku}"
                " AND (status = 'confirmed' OR (status = 'held' AND held_until_us > :now))"
                " GROUP BY start_us",
                params,
            )
        )
        return {from_micros(int(at)): int(count) for at, count in rows}

    def store_bookings(
        self, store: str, launch: str | None, start: datetime, end: datetime
    ) -> list[Booking]:
        params: dict[str, object] = {
            "store": store,
            "start": to_micros(start),
            "end": to_micros(end),
        }
        of_launch = ""
        if launch is not None:
            of_launch, params["launch"] = " AND l.slug = :launch", launch
        rows = self._session.run(
            lambda db: db.all(
                f"SELECT {BOOKING_COLUMNS} FROM {BOOKING_FROM}"
                " WHERE b.store_id = :store AND b.start_us >= :start AND b.start_us < :end"
                f"{of_launch} ORDER BY b.start_us, b.seq",
                params,
            )
        )
        return [booking_from_row(row) for row in rows]

    def customer_bookings(self, launch: str, customer: str) -> list[Booking]:
        rows = self._session.run(
            lambda db: db.all(
                f"SELECT {BOOKING_COLUMNS} FROM {BOOKING_FROM}"
                " WHERE l.slug = :launch AND b.customer = :customer ORDER BY b.seq",
                {"launch": launch, "customer": customer},
            )
        )
        return [booking_from_row(row) for row in rows]
