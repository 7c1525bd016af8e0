"""The pure arithmetic of stores' slots and bookings: slots cut from local hours (a day a
clock change shortens has an hour fewer), exceptions, slot boundaries, a slot's quota,
and the booking's changes by the buyer and by the store."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from launchday.domain.booking import (
    Booking,
    BookingClosed,
    BookingKind,
    BookingStatus,
    buyer_may,
    check_upcoming_limit,
    staff_may,
)
from launchday.domain.errors import LimitReached, SoldOut, ValidationFailed
from launchday.domain.retail_store import (
    WEEKDAYS,
    Hours,
    HoursException,
    RetailStore,
    StoreKind,
    validate_store,
)
from launchday.domain.slots import check_room, slot_at, slot_quota, slots_between, slots_on


def store(zone: str = "Asia/Shanghai", **more: object) -> RetailStore:
    values: dict[str, object] = {
        "id": "s-1",
        "name": "Store",
        "kinds": frozenset({StoreKind.SALES}),
        "city": "City",
        "region": "CN-BJ",
        "lat": 39.9,
        "lon": 116.4,
        "timezone": zone,
        "hours": (Hours(WEEKDAYS, time(10), time(12)),),
        "demo_cars": (("YU7-MAX", 2),),
    }
    values.update(more)
    return RetailStore(**values)  # type: ignore[arg-type]


def test_slots_are_cut_from_local_hours_and_kept_in_utc() -> None:
    found = slots_on(store(), date(2026, 11, 23), 60)
    assert [(s.start, s.end) for s in found] == [
        (datetime(2026, 11, 23, 2, tzinfo=UTC), datetime(2026, 11, 23, 3, tzinfo=UTC)),
        (datetime(2026, 11, 23, 3, tzinfo=UTC), datetime(2026, 11, 23, 4, tzinfo=UTC)),
    ]
    assert len(slots_on(store(), date(2026, 11, 23), 45)) == 2  # 10:00, 10:45; not 11:30
    assert len(slots_between(store(), date(2026, 11, 23), 14, 60)) == 28


def test_a_day_a_clock_change_shortens_has_an_hour_fewer() -> None:
    night = store("America/New_York", hours=(Hours(WEEKDAYS, time(0), time(5)),))
    normal = slots_on(night, date(2026, 3, 7), 60)
    spring = slots_on(night, date(2026, 3, 8), 60)  # 02:00 EST becomes 03:00 EDT
    assert len(normal) == 5
    assert [s.start.hour for s in spring] == [5, 6, 7, 8]  # UTC: 00:00 EST to 05:00 EDT


def test_an_exception_closes_or_changes_a_day() -> None:
    special = store(
        exceptions=(
            HoursException(date(2026, 11, 24)),
            HoursException(date(2026, 11, 25), time(18), time(20)),
        )
    )
    assert slots_on(special, date(2026, 11, 24), 60) == []
    late = slots_on(special, date(2026, 11, 25), 60)
    assert [s.start for s in late] == [datetime(2026, 11, 25, 10, tzinfo=UTC),
                                       datetime(2026, 11, 25, 11, tzinfo=UTC)]  # fmt: skip


def test_a_slot_is_found_only_on_its_boundary_and_fills_at_its_quota() -> None:
    start = datetime(2026, 11, 23, 2, tzinfo=UTC)
    assert slot_at(store(), start, 60).end == start + timedelta(hours=1)
    for wrong in (start + timedelta(minutes=30), start + timedelta(hours=5)):
        with pytest.raises(ValidationFailed):
            slot_at(store(), wrong, 60)
    quota = slot_quota(store(), "YU7-MAX", slot_at(store(), start, 60), 2)
    check_room(quota, 1)
    with pytest.raises(SoldOut):
        check_room(quota, 2)
    with pytest.raises(ValidationFailed):
        slots_between(store(), date(2026, 11, 23), 32, 60)


def test_a_store_that_cannot_be_right_is_refused() -> None:
    validate_store(store())
    overlapping = (Hours(("mon",), time(10), time(14)), Hours(("mon",), time(13), time(18)))
    for bad, field in (
        (store(hours=overlapping), "hours"),
        (store(id="Bad Id"), "store"),
        (store(region="CN"), "region"),
        (store(kinds=frozenset({StoreKind.DELIVERY})), "handover_bays"),
        (store(test_drive_minutes=5), "test_drive_minutes"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            validate_store(bad)
        assert refused.value.field == field


def booking(status: BookingStatus, **more: object) -> Booking:
    start = datetime(2026, 11, 23, 2, tzinfo=UTC)
    values: dict[str, object] = {
        "id": "b-1", "sequence": 1, "kind": BookingKind.TEST_DRIVE, "launch": "yu7",
        "store": "s-1", "sku": "YU7-MAX", "customer": "c", "start": start,
        "end": start + timedelta(hours=1), "status": status,
        "created_at": start - timedelta(days=1),
    }  # fmt: skip
    values.update(more)
    return Booking(**values)  # type: ignore[arg-type]


def test_a_booking_changes_as_its_buyer_and_its_store_may() -> None:
    before = datetime(2026, 11, 22, tzinfo=UTC)
    during = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    held = booking(BookingStatus.HELD, held_until=before + timedelta(minutes=5))
    assert held.takes_place(before)
    assert held.status_at(before + timedelta(minutes=5)) is BookingStatus.EXPIRED
    assert not held.takes_place(before + timedelta(minutes=5))
    assert buyer_may(held, BookingStatus.CONFIRMED, before)
    with pytest.raises(BookingClosed):
        buyer_may(held, BookingStatus.CONFIRMED, before + timedelta(minutes=6))
    confirmed = booking(BookingStatus.CONFIRMED)
    assert not buyer_may(confirmed, BookingStatus.CONFIRMED, before)  # a retry
    with pytest.raises(BookingClosed):
        buyer_may(confirmed, BookingStatus.CANCELLED, during)  # begun: ask the store
    with pytest.raises(BookingClosed):
        staff_may(confirmed, BookingStatus.DONE, before)  # not begun yet
    assert staff_may(confirmed, BookingStatus.NO_SHOW, during)
    with pytest.raises(BookingClosed):
        staff_may(booking(BookingStatus.DONE), BookingStatus.NO_SHOW, during)
    check_upcoming_limit(0, 1)
    with pytest.raises(LimitReached):
        check_upcoming_limit(1, 1)
