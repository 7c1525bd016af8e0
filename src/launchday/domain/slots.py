"""Slots: the times a store offers for test drives and handovers, cut from its opening
hours, and how many bookings each holds.

A slot's capacity is a quota over the bookings that take a place in it (held and not
expired, or confirmed): the store's demo cars of the variant for a test drive, its
handover bays for a handover. Slots are worked out on the store's local dates and
kept as aware instants, so a day that a clock change shortens or lengthens has the
slots its wall-clock hours give.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from launchday.domain.errors import SoldOut, ValidationFailed
from launchday.domain.quota import Quota
from launchday.domain.retail_store import RetailStore

MAX_DAYS = 31  # the furthest ahead a listing of slots reaches


@dataclass(frozen=True, slots=True)
class Slot:
    """From `start` to `end` (aware instants, UTC)."""

    start: datetime
    end: datetime


def local_day(store: RetailStore, moment: datetime) -> date:
    """The store's local date at `moment`."""
    return moment.astimezone(store.zone).date()


def slots_on(store: RetailStore, day: date, minutes: int) -> list[Slot]:
    """The slots of `minutes` the store offers on its local date `day`: each opening
    interval cut from its start, a last piece shorter than a slot left out."""
    zone, step = store.zone, timedelta(minutes=minutes)
    slots = []
    for opens, closes in store.open_hours(day):
        start = datetime.combine(day, opens, zone).astimezone(UTC)
        end = datetime.combine(day, closes, zone).astimezone(UTC)
        while start + step <= end:
            slots.append(Slot(start, start + step))
            start += step
    return slots


def slots_between(store: RetailStore, first: date, days: int, minutes: int) -> list[Slot]:
    """The slots of `days` local dates from `first` on."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"days is 1 to {MAX_DAYS}", "days")
    slots: list[Slot] = []
    for offset in range(days):
        slots.extend(slots_on(store, first + timedelta(days=offset), minutes))
    return slots


def slot_at(store: RetailStore, start: datetime, minutes: int) -> Slot:
    """The slot that begins at `start`; ValidationFailed when the store offers none then
    (closed, or not on a slot's boundary)."""
    for slot in slots_on(store, local_day(store, start), minutes):
        if slot.start == start:
            return slot
    raise ValidationFailed(
        f"{store.id} offers no slot at {start.isoformat()}: outside its hours or its slots",
        "start",
    )


def slot_quota(store: RetailStore, kind_key: str, slot: Slot, capacity: int) -> Quota:
    """The quota of one slot: `capacity` bookings of the kind (`kind_key`: the variant
    for a test drive, "handover" for a handover)."""
    key = f"{store.id}/{kind_key}/{int(slot.start.timestamp())}"
    return Quota(key, capacity, frozenset({kind_key}))


def check_room(quota: Quota, taken: int) -> None:
    """Refuse one more booking of a slot whose quota `taken` bookings already fill."""
    if quota.left({next(iter(quota.skus)): taken}) < 1:
        raise SoldOut("that slot is fully booked: choose another", field="start")


def free_places(capacity: int, taken: int) -> int:
    """Places left in a slot."""
    return max(capacity - taken, 0)
