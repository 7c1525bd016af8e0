"""The Stores section of report.html: the leaderboard's top, the test drives of the last
days, and the two region maps, from the report's store figures.

The maps are `launchday.analytics.region_map`'s SVG, inline: it escapes every text it
writes and names no URL, so the page stays one file that opens with no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from launchday.analytics.region_map import region_map_svg
from launchday.analytics.report import Report
from launchday.analytics.store_figures import (
    ChannelOrders,
    DriveConversion,
    StoreFigures,
    StoreRow,
    daily_totals,
)

LEADERBOARD_ROWS: Final = 10
LAST_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class DayRow:
    """Test drives on one local date, over every store."""

    date: str
    booked: int
    done: int
    stores: int


@dataclass(frozen=True, slots=True)
class StoreSection:
    """What the page's Stores section shows."""

    leaderboard: list[StoreRow]
    listed: int  # stores in the whole leaderboard
    channels: list[ChannelOrders]
    days: list[DayRow]
    conversion: DriveConversion
    per_capita_map: Markup
    per_store_map: Markup
    orders_without_region: int


def store_section(report: Report) -> StoreSection | None:
    """The section of `report`, or None when the report has no store figures."""
    stores = report.stores
    if stores is None:
        return None
    return StoreSection(
        leaderboard=stores.stores[:LEADERBOARD_ROWS],
        listed=len(stores.stores),
        channels=stores.channels,
        days=[DayRow(*row) for row in daily_totals(stores.test_drive_days, LAST_DAYS)],
        conversion=stores.conversion,
        per_capita_map=Markup(per_capita_map(stores)),  # noqa: S704 - region_map escapes
        per_store_map=Markup(per_store_map(stores)),  # noqa: S704 - region_map escapes
        orders_without_region=stores.orders_without_region,
    )


def per_capita_map(stores: StoreFigures) -> str:
    """Orders by the buyer's region, per million people (a region with stores and no
    buyers at 0; every other one without data)."""
    return region_map_svg(
        {r.region: r.orders for r in stores.regions},
        title="Orders per million people, by the buyer's region",
        unit="orders",
        per_capita=True,
    )


def per_store_map(stores: StoreFigures) -> str:
    """Orders placed in each region's stores, per sales store there."""
    return region_map_svg(
        {
            r.region: r.store_orders_per_store
            for r in stores.regions
            if r.store_orders_per_store is not None
        },
        title="Store orders per store, by the store's region",
        unit="store orders per store",
    )
