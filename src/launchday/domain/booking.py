"""A booking of a store's slot by a buyer: a test drive of a variant, or the handover
of an ordered car at a delivery centre.

A buyer holds a slot for a few minutes, then confirms it; a hold not confirmed in time
lapses and frees its place. A booking takes a place in its slot while held (and not
lapsed) or confirmed. The buyer may cancel or move it until it begins; the store's
staff mark it done or a no-show once it has begun, and may cancel it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from launchday.domain.errors import DomainError, LimitReached, ValidationFailed

HOLD = timedelta(minutes=5)  # how long a held slot waits for the buyer's confirmation


class BookingKind(StrEnum):
    TEST_DRIVE = "test_drive"
    HANDOVER = "handover"


class BookingStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # a hold not confirmed in time (never stored: worked out)
    DONE = "done"
    NO_SHOW = "no_show"


class BookingClosed(DomainError):
    """The booking cannot change that way now (lapsed, cancelled, begun, finished)."""

    code = "booking_closed"


TAKING_PLACE = frozenset({BookingStatus.HELD, BookingStatus.CONFIRMED})
_BY_BUYER = {
    BookingStatus.HELD: frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED}),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.CANCELLED}),
}
_BY_STAFF = {
    BookingStatus.CONFIRMED: frozenset(
        {BookingStatus.DONE, BookingStatus.NO_SHOW, BookingStatus.CANCELLED}
    ),
    BookingStatus.HELD: frozenset({BookingStatus.CANCELLED}),
}


@dataclass(frozen=True, slots=True)
class Booking:
    """One booking as stored; `status` is the stored state (see `status_at`)."""

    id: str
    sequence: int
    kind: BookingKind
    launch: str
    store: str
    sku: str
    customer: str
    start: datetime
    end: datetime
    status: BookingStatus
    created_at: datetime
    held_until: datetime | None = None
    order_id: str | None = None  # the order a handover hands over
    staff: str | None = None  # who at the store last changed it (their key's name)
    channel: str = "app"

    def status_at(self, now: datetime) -> BookingStatus:
        """The status at real time `now`: a hold past its time has lapsed."""
        if (
            self.status is BookingStatus.HELD
            and self.held_until is not None
            and now >= self.held_until
        ):
            return BookingStatus.EXPIRED
        return self.status

    def takes_place(self, now: datetime) -> bool:
        """Whether it counts against its slot's capacity at `now`."""
        return self.status_at(now) in TAKING_PLACE

    def upcoming(self, now: datetime) -> bool:
        """Taking a place in a slot that has not ended."""
        return self.takes_place(now) and self.end > now


def check_bookable(start: datetime, now: datetime) -> None:
    """A slot is booked before it begins."""
    if start <= now:
        raise ValidationFailed("that slot has begun or passed: choose a later one", "start")


def check_upcoming_limit(upcoming: int, limit: int) -> None:
    """Refuse one more upcoming test drive past the launch's limit per buyer."""
    if upcoming >= limit:
        raise LimitReached(f"one buyer may hold {limit} upcoming test drive(s) in this launch")


def buyer_may(booking: Booking, target: BookingStatus, now: datetime) -> bool:
    """Whether the buyer's change to `target` is to be made (False: already made, a
    retry); BookingClosed when it cannot be."""
    current = booking.status_at(now)
    if current is target:
        return False
    if target not in _BY_BUYER.get(current, frozenset()):
        raise BookingClosed(f"a {current} booking cannot become {target}", field="id")
    if booking.start <= now:
        raise BookingClosed("the booking has begun: ask the store", field="id")
    return True


def staff_may(booking: Booking, target: BookingStatus, now: datetime) -> bool:
    """Whether the store's change to `target` is to be made (False: a retry);
    BookingClosed when it cannot be (done or no-show before it begins, among others)."""
    current = booking.status_at(now)
    if current is target:
        return False
    if target not in _BY_STAFF.get(current, frozenset()):
        raise BookingClosed(f"a {current} booking cannot become {target}", field="id")
    if target in (BookingStatus.DONE, BookingStatus.NO_SHOW) and now < booking.start:
        raise BookingClosed("the booking has not begun yet", field="id")
    return True
