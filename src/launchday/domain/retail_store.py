"""A brand's stores: where buyers drive the car, where staff sell it and where it is
handed over. One place can be several kinds at once (a sales store that is also a
delivery centre). Stores belong to the brand, not to one launch: a launch's test
drives, store orders and handovers name them.

Opening hours are local wall-clock times in the store's own time zone; each day's
hours come from its weekday, unless an exception names that date (a holiday closed,
a late night before a launch).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from launchday.domain.errors import ValidationFailed

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STORE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# ISO 3166-2: the country's two letters, a hyphen, up to three letters or digits.
_REGION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
_MINUTES = (15, 240)  # the shortest and longest slot a store may offer


class StoreKind(StrEnum):
    SALES = "sales"  # sells, and holds demo cars for test drives
    DELIVERY = "delivery"  # hands cars over
    SERVICE = "service"  # services cars


@dataclass(frozen=True, slots=True)
class Hours:
    """Open from `opens` to `closes` (local times, `opens` < `closes`) on `days`."""

    days: tuple[str, ...]
    opens: time
    closes: time


@dataclass(frozen=True, slots=True)
class HoursException:
    """A date whose hours are not its weekday's: closed, or open `opens` to `closes`."""

    day: date
    opens: time | None = None  # None: closed all day
    closes: time | None = None


@dataclass(frozen=True, slots=True)
class RetailStore:
    """One of the brand's stores."""

    id: str
    name: str
    kinds: frozenset[StoreKind]
    city: str
    region: str
    lat: float
    lon: float
    timezone: str
    hours: tuple[Hours, ...]
    exceptions: tuple[HoursException, ...] = ()
    demo_cars: tuple[tuple[str, int], ...] = ()  # per variant: cars for test drives
    test_drive_minutes: int = 60
    handover_bays: int = 0  # a delivery centre's handovers at the same time
    handover_minutes: int = 90
    logistics_weeks: int = 0  # a delivery centre's weeks from the plant to the buyer

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def demo_cars_of(self, sku: str) -> int:
        return dict(self.demo_cars).get(sku, 0)

    def is_a(self, kind: StoreKind) -> bool:
        return kind in self.kinds

    def open_hours(self, day: date) -> list[tuple[time, time]]:
        """The store's opening intervals on the local date `day`, in order."""
        for exception in self.exceptions:
            if exception.day == day:
                if exception.opens is None or exception.closes is None:
                    return []
                return [(exception.opens, exception.closes)]
        weekday = WEEKDAYS[day.weekday()]
        return sorted((h.opens, h.closes) for h in self.hours if weekday in h.days)


def check_store_id(store_id: str) -> None:
    """Refuse an id that is not lower-case letters, digits and hyphens (at most 63)."""
    if not _STORE_ID.fullmatch(store_id):
        raise ValidationFailed("a store id is lower-case letters, digits and hyphens", "store")


def validate_store(store: RetailStore) -> None:
    """Refuse a store that cannot be right, naming the field at fault."""
    check_store_id(store.id)
    if not store.name.strip():
        raise ValidationFailed("a store needs a name", "name")
    if not store.kinds:
        raise ValidationFailed("a store is at least one kind", "kinds")
    if not _REGION.fullmatch(store.region):
        raise ValidationFailed("region is an ISO 3166-2 code such as CN-BJ", "region")
    if not -90 <= store.lat <= 90 or not -180 <= store.lon <= 180:
        raise ValidationFailed("coordinates are latitude -90..90, longitude -180..180", "lat")
    try:
        ZoneInfo(store.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {store.timezone!r}", "timezone") from None
    _check_hours(store)
    for sku, cars in store.demo_cars:
        if cars < 0:
            raise ValidationFailed(f"demo cars of {sku} must not be negative", "demo_cars")
    for field, minutes in (
        ("test_drive_minutes", store.test_drive_minutes),
        ("handover_minutes", store.handover_minutes),
    ):
        if not _MINUTES[0] <= minutes <= _MINUTES[1]:
            raise ValidationFailed(f"{field} is {_MINUTES[0]} to {_MINUTES[1]}", field)
    if store.handover_bays < 0 or store.logistics_weeks < 0:
        raise ValidationFailed("handover bays and logistics weeks are not negative", "kinds")
    if store.is_a(StoreKind.DELIVERY) and store.handover_bays < 1:
        raise ValidationFailed("a delivery centre needs at least one handover bay", "handover_bays")


def _check_hours(store: RetailStore) -> None:
    by_day: dict[str, list[tuple[time, time]]] = {day: [] for day in WEEKDAYS}
    for hours in store.hours:
        if not hours.days or any(day not in WEEKDAYS for day in hours.days):
            raise ValidationFailed(f"days are among {', '.join(WEEKDAYS)}", "hours")
        if hours.opens >= hours.closes:
            raise ValidationFailed("a store opens before it closes", "hours")
        for day in hours.days:
            by_day[day].append((hours.opens, hours.closes))
    for day, spans in by_day.items():
        spans.sort()
        for (_, closes), (opens, _) in itertools.pairwise(spans):
            if opens < closes:
                raise ValidationFailed(f"the hours of {day} overlap", "hours")
    seen: set[date] = set()
    for exception in store.exceptions:
        if exception.day in seen:
            raise ValidationFailed(f"{exception.day} is named twice", "exceptions")
        seen.add(exception.day)
        starts, ends = exception.opens, exception.closes
        if (starts is None) != (ends is None):
            raise ValidationFailed("an exception gives opens and closes, or neither", "exceptions")
        if starts is not None and ends is not None and starts >= ends:
            raise ValidationFailed("a store opens before it closes", "exceptions")
