"""Bookings as iCalendar files (RFC 5545), as phones' calendars read them: one event per
booking, its times in the store's own time zone (with that zone's definition in the
file, so a phone elsewhere shows it right), the store as its place."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event, vGeo

from launchday.domain.booking import Booking, BookingKind, BookingStatus
from launchday.domain.retail_store import RetailStore

PRODID = "-//launchday//bookings//EN"
_STATUS = {
    BookingStatus.HELD: "TENTATIVE",
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.DONE: "CONFIRMED",
    BookingStatus.NO_SHOW: "CONFIRMED",
    BookingStatus.CANCELLED: "CANCELLED",
    BookingStatus.EXPIRED: "CANCELLED",
}


def _event(booking: Booking, store: RetailStore, now: datetime, stamp: datetime) -> Event:
    event = Event()
    what = "Test drive" if booking.kind is BookingKind.TEST_DRIVE else "Handover"
    event.add("uid", f"{booking.id}@launchday")
    event.add("dtstamp", stamp)
    event.add("summary", f"{what}: {booking.sku} at {store.name}")
    event.add("dtstart", booking.start.astimezone(store.zone))
    event.add("dtend", booking.end.astimezone(store.zone))
    event.add("location", f"{store.name}, {store.city}")
    event.add("geo", vGeo((store.lat, store.lon)))
    event.add("status", _STATUS[booking.status_at(now)])
    event.add("description", f"Booking {booking.id} ({booking.launch}), {booking.status_at(now)}")
    return event


def calendar_of(bookings: Iterable[tuple[Booking, RetailStore]], now: datetime, name: str) -> bytes:
    """The bookings as one calendar file."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for booking, store in bookings:
        calendar.add_component(_event(booking, store, now, now))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
