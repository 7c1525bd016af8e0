"""The wire shapes of test drives and handovers: the launch's booking rules, slots and
bookings."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from launchday.domain.booking import Booking, BookingKind
from launchday.domain.clock import rfc3339
from launchday.domain.slots import Slot

StoreId = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}(?!\n)$")]
Instant = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a time zone")]


class BookingsSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """How buyers book test drives in the launch (docs/stores.md): how many upcoming
    test drives each may hold, and how long a held slot waits for confirmation."""

    per_customer: Annotated[int, Meta(ge=1, le=20)] = 1
    hold_minutes: Annotated[float, Meta(gt=0, le=60)] = 5


class HoldRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The body of `POST /api/v1/launches/{slug}/test-drives`: a slot to hold."""

    store: StoreId
    sku: Annotated[str, Meta(min_length=1, max_length=64)]
    start: Instant


class RescheduleRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The body of a reschedule: the new slot's start, at the same store or another."""

    start: Instant
    store: StoreId | None = None


class HandoverRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The body of `POST /api/v1/orders/{id}/handover`: the slot to hand the car over in."""

    start: Instant


class CentreRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The body of `PUT /api/v1/orders/{id}/delivery-centre`."""

    delivery_centre: StoreId


class SlotOut(msgspec.Struct, frozen=True):
    start: str
    end: str
    free: int


class SlotsOut(msgspec.Struct, frozen=True):
    launch: str
    store: str
    sku: str
    timezone: str
    minutes: int
    capacity: int
    slots: list[SlotOut]


class BookingOut(msgspec.Struct, frozen=True):
    id: str
    kind: Literal["test_drive", "handover"]
    launch: str
    store: str
    sku: str
    customer: str
    start: str
    end: str
    status: str
    held_until: str | None
    created_at: str
    channel: str
    staff: str | None
    order_id: str | None
    calendar: str  # where the booking's .ics is


class BookingsOut(msgspec.Struct, frozen=True):
    bookings: list[BookingOut]


@functools.lru_cache(maxsize=65_536)
def _slot_times(slot: Slot) -> tuple[str, str]:
    """A slot's start and end as the wire writes them, once per slot: a page of 14 days
    lists a hundred and more, and each is listed again and again."""
    return rfc3339(slot.start), rfc3339(slot.end)


def slot_out(slot: Slot, free: int) -> SlotOut:
    start, end = _slot_times(slot)
    return SlotOut(start, end, free)


def _calendar_path(booking: Booking) -> str:
    if booking.kind is BookingKind.HANDOVER:
        return f"/api/v1/orders/{booking.order_id}/handover/calendar.ics"
    return f"/api/v1/test-drives/{booking.id}/calendar.ics"


def booking_out(booking: Booking, now: datetime) -> BookingOut:
    """A booking as its buyer or the store sees it, its status as of `now`."""
    return BookingOut(
        id=booking.id,
        kind=booking.kind.value,
        launch=booking.launch,
        store=booking.store,
        sku=booking.sku,
        customer=booking.customer,
        start=rfc3339(booking.start),
        end=rfc3339(booking.end),
        status=booking.status_at(now).value,
        held_until=None if booking.held_until is None else rfc3339(booking.held_until),
        created_at=rfc3339(booking.created_at),
        channel=booking.channel,
        staff=booking.staff,
        order_id=booking.order_id,
        calendar=_calendar_path(booking),
    )
