"""The stores in the report: orders by channel, each store's orders and test drives (its
place on a leaderboard), test drives per store and local day, how test drives turn into
orders and orders into buyers who drove first, and orders per region.

Pure: the store counts (`launchday.store.reads.retail_report`); this names the numbers.

The rules, in one place:

- Orders count as the report's totals do: placed by the report time, cancelled ones
  included. A delivery centre is the one an order names now (a buyer may change it
  until the handover is booked), not the one it named at the report time.
- A test drive is booked when it is confirmed, done or a no-show: not while only held,
  nor once it lapsed unconfirmed or was cancelled. Bookings count as they stand when
  the report is made; each falls on the date of its start in its store's time zone.
- A store is listed when it placed an order of the launch, was chosen as a delivery
  centre, or has a test drive or handover booked. The leaderboard ranks the stores by
  orders placed, then test drives done.
- Test drive to order: among the buyers with a test drive of the launch marked done
  (started by the report time), those who placed an order of the launch (cancelled
  later or not) within `CONVERSION_DAYS` days after a done test drive's start. Order
  after test drive: among the orders placed and not cancelled by the report time, those
  whose buyer had a test drive marked done that started before the order was placed.
- Regions: orders by the region of the buyer's profile (per million people, where the
  population is known), and the orders placed at a region's sales stores per sales
  store there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import msgspec

from launchday.analytics.region_map import CHINA
from launchday.domain.clock import from_micros
from launchday.domain.retail_store import RetailStore, StoreKind

CHANNELS: Final = ("app", "web", "store", "partner")
CONVERSION_DAYS: Final = 7

_OUT = {"frozen": True, "forbid_unknown_fields": True}


# --- the section, as JSON ----------------------------------------------------------


class ChannelOrders(msgspec.Struct, **_OUT):
    """Orders placed through one channel, and their share of all orders placed."""

    channel: str
    orders: int
    share: float | None


class StoreRow(msgspec.Struct, **_OUT):
    """One store: orders its staff placed, orders naming it as delivery centre, and its
    test drives booked (confirmed, done or no-show), done and missed."""

    store: str
    name: str
    city: str
    region: str
    orders: int
    delivery_centre_orders: int
    test_drives_booked: int
    test_drives_done: int
    no_shows: int


class StoreDay(msgspec.Struct, **_OUT):
    """A store's test drives booked and done on one local date (its own time zone)."""

    store: str
    date: str
    booked: int
    done: int


class DriveConversion(msgspec.Struct, **_OUT):
    """Test drives into orders and orders after test drives (see the module's rules)."""

    window_days: int
    test_drivers: int
    ordered_within_window: int
    ordered_share: float | None
    orders: int
    after_test_drive: int
    after_test_drive_share: float | None


class RegionOrders(msgspec.Struct, **_OUT):
    """One region: orders by the buyer's region (and per million people, when its
    population is known), and orders placed at its sales stores per sales store."""

    region: str
    name: str | None
    orders: int
    orders_per_million: float | None
    store_orders: int
    stores: int
    store_orders_per_store: float | None


class StoreFigures(msgspec.Struct, **_OUT):
    """The launch in its stores: `stores` is the leaderboard, best first."""

    channels: list[ChannelOrders]
    stores: list[StoreRow]
    test_drive_days: list[StoreDay]
    conversion: DriveConversion
    regions: list[RegionOrders]
    orders_without_region: int


# --- counts, as the store's queries return them ------------------------------------


@dataclass(frozen=True, slots=True)
class OriginTally:
    """Orders placed by the report time by channel, by the store that placed them, by
    the delivery centre they name, and by their buyer's region (upper case; None: not
    given)."""

    by_channel: Mapping[str, int]
    by_store: Mapping[str, int]
    by_centre: Mapping[str, int]
    by_region: Mapping[str | None, int]


@dataclass(frozen=True, slots=True)
class StoreBookings:
    """A store's bookings of the launch: test drives and handovers booked, and of its
    test drives those booked, done and missed."""

    store: str
    booked: int
    test_drives_booked: int
    test_drives_done: int
    no_shows: int


@dataclass(frozen=True, slots=True)
class SlotTally:
    """Test drives booked and done in one slot of a store (its start, UTC microseconds)."""

    store: str
    start_us: int
    booked: int
    done: int


@dataclass(frozen=True, slots=True)
class ConversionTally:
    """The counts behind `DriveConversion`, less the orders not cancelled (the report's
    order pass counts those)."""

    test_drivers: int
    ordered_within_window: int
    after_test_drive: int


# --- pure arithmetic ---------------------------------------------------------------


def has_store_activity(origins: OriginTally, bookings: Iterable[StoreBookings]) -> bool:
    """Whether the launch has a store order, a booking or an order naming a centre."""
    return bool(origins.by_store or origins.by_centre or any(b.booked for b in bookings))


def channel_orders(by_channel: Mapping[str, int]) -> list[ChannelOrders]:
    """The four channels in their fixed order (zero when unused), then any other."""
    total = sum(by_channel.values())
    names = [*CHANNELS, *sorted(set(by_channel) - set(CHANNELS))]
    return [
        ChannelOrders(name, by_channel.get(name, 0), _share(by_channel.get(name, 0), total))
        for name in names
    ]


def leaderboard(
    stores: Mapping[str, RetailStore],
    origins: OriginTally,
    bookings: Iterable[StoreBookings],
) -> list[StoreRow]:
    """Each known store with orders, a centre's orders or bookings, best first."""
    booked = {b.store: b for b in bookings if b.booked}
    listed = (set(origins.by_store) | set(origins.by_centre) | set(booked)) & set(stores)
    rows = []
    for store_id in listed:
        store = stores[store_id]
        drives = booked.get(store_id, StoreBookings(store_id, 0, 0, 0, 0))
        rows.append(
            StoreRow(
                store=store_id,
                name=store.name,
                city=store.city,
                region=store.region,
                orders=origins.by_store.get(store_id, 0),
                delivery_centre_orders=origins.by_centre.get(store_id, 0),
                test_drives_booked=drives.test_drives_booked,
                test_drives_done=drives.test_drives_done,
                no_shows=drives.no_shows,
            )
        )
    rows.sort(key=lambda r: (-r.orders, -r.test_drives_done, r.name, r.store))
    return rows


def drive_days(stores: Mapping[str, RetailStore], slots: Iterable[SlotTally]) -> list[StoreDay]:
    """Test drives per store and local date, by date then store."""
    days: dict[tuple[date, str], tuple[int, int]] = {}
    for slot in slots:
        store = stores.get(slot.store)
        if store is None:
            continue
        key = (from_micros(slot.start_us).astimezone(store.zone).date(), slot.store)
        booked, done = days.get(key, (0, 0))
        days[key] = (booked + slot.booked, done + slot.done)
    return [
        StoreDay(store, day.isoformat(), booked, done)
        for (day, store), (booked, done) in sorted(days.items())
    ]


def daily_totals(days: Sequence[StoreDay], last: int) -> list[tuple[str, int, int, int]]:
    """(date, booked, done, stores) over every store, for the `last` dates with drives."""
    totals: dict[str, tuple[int, int, int]] = {}
    for day in days:
        booked, done, stores = totals.get(day.date, (0, 0, 0))
        totals[day.date] = (booked + day.booked, done + day.done, stores + 1)
    dates = sorted(totals)[-last:] if last > 0 else []
    return [(d, *totals[d]) for d in dates]


def region_orders(
    stores: Iterable[RetailStore], origins: OriginTally
) -> tuple[list[RegionOrders], int]:
    """Each region with buyers or sales stores, by code; and the orders with no region."""
    sales = [s for s in stores if s.is_a(StoreKind.SALES)]
    store_count: dict[str, int] = {}
    store_orders: dict[str, int] = {}
    for store in sales:
        store_count[store.region] = store_count.get(store.region, 0) + 1
        placed = origins.by_store.get(store.id, 0)
        store_orders[store.region] = store_orders.get(store.region, 0) + placed
    buyers = {code: n for code, n in origins.by_region.items() if code is not None}
    regions = []
    for code in sorted(set(buyers) | set(store_count)):
        tile = CHINA.get(code)
        orders = buyers.get(code, 0)
        count = store_count.get(code, 0)
        population = None if tile is None else tile.population
        regions.append(
            RegionOrders(
                region=code,
                name=None if tile is None else tile.name,
                orders=orders,
                orders_per_million=orders / population if population else None,
                store_orders=store_orders.get(code, 0),
                stores=count,
                store_orders_per_store=store_orders.get(code, 0) / count if count else None,
            )
        )
    return regions, origins.by_region.get(None, 0)


def store_figures(
    stores: Sequence[RetailStore],
    origins: OriginTally,
    bookings: Sequence[StoreBookings],
    slots: Iterable[SlotTally],
    conversion: ConversionTally,
    orders_not_cancelled: int,
) -> StoreFigures | None:
    """The section from the store's counts; None without store orders, bookings or
    delivery centres named."""
    if not has_store_activity(origins, bookings):
        return None
    known = {store.id: store for store in stores}
    regions, without_region = region_orders(stores, origins)
    return StoreFigures(
        channels=channel_orders(origins.by_channel),
        stores=leaderboard(known, origins, bookings),
        test_drive_days=drive_days(known, slots),
        conversion=DriveConversion(
            window_days=CONVERSION_DAYS,
            test_drivers=conversion.test_drivers,
            ordered_within_window=conversion.ordered_within_window,
            ordered_share=_share(conversion.ordered_within_window, conversion.test_drivers),
            orders=orders_not_cancelled,
            after_test_drive=conversion.after_test_drive,
            after_test_drive_share=_share(conversion.after_test_drive, orders_not_cancelled),
        ),
        regions=regions,
        orders_without_region=without_region,
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
