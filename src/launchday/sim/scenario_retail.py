"""A scenario's `[retail]` section: the brand's store network as published counts, how
its stores are run, and the buyers' use of them (docs/scenarios.md, "[retail]")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from launchday.sim.scenario import ScenarioRetail
from launchday.sim.toml_fields import FieldPath, FieldReader

_COUNTS: Final = ("sales_stores", "delivery_centres", "service_centres")
# Each share's default: no store orders, no test drives, half booked before the opening.
_SHARES: Final = {"store_order_share": 0.0, "test_drive_share": 0.0, "before_opening_share": 0.5}
_KEYS: Final = frozenset(
    {"brand", "cities", "timezone", "opens", "closes", "demo_cars", "test_drive_minutes"}
    | {"handover_bays", "logistics_weeks", "plant_region", *_COUNTS, *_SHARES}
)
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_REGION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
MAX_STORES: Final = 10_000


def read_retail(reader: FieldReader, data: Mapping[str, object]) -> ScenarioRetail | None:
    """The `[retail]` section, checked (None if absent)."""
    table = reader.table(data, ("retail",), required=False)
    if not table:
        return None
    at: FieldPath = ("retail",)
    reader.only_known(table, at, _KEYS)
    counts = {k: reader.integer(table, (*at, k), low=0, high=MAX_STORES) for k in _COUNTS}
    if counts["sales_stores"] < 1:
        raise reader.error((*at, "sales_stores"), "a network needs at least one sales store")
    store_share, drive_share, before_share = (
        reader.number(table, (*at, k), low=0, high=1, default=d) for k, d in _SHARES.items()
    )
    timezone = reader.optional_text(table, (*at, "timezone")) or "Asia/Shanghai"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.error((*at, "timezone"), f"unknown time zone {timezone!r}") from None
    opens = _clock(reader, table, (*at, "opens"), "10:00")
    closes = _clock(reader, table, (*at, "closes"), "22:00")
    if closes <= opens:
        raise reader.error((*at, "closes"), "stores close after they open")
    plant = reader.optional_text(table, (*at, "plant_region"))
    if plant is not None and not _REGION.fullmatch(plant):
        raise reader.error((*at, "plant_region"), "expected an ISO 3166-2 code like CN-BJ")
    return ScenarioRetail(
        brand=reader.name(table, (*at, "brand")),
        cities=reader.integer(table, (*at, "cities"), low=1, high=MAX_STORES),
        timezone=timezone,
        opens=opens,
        closes=closes,
        demo_cars=reader.integer(table, (*at, "demo_cars"), low=1, high=100, default=4),
        test_drive_minutes=reader.integer(
            table, (*at, "test_drive_minutes"), low=15, high=240, default=30
        ),
        handover_bays=reader.integer(table, (*at, "handover_bays"), low=1, high=100, default=6),
        logistics_weeks=reader.integer(table, (*at, "logistics_weeks"), low=0, high=52, default=1),
        plant_region=plant,
        sales_stores=counts["sales_stores"],
        delivery_centres=counts["delivery_centres"],
        service_centres=counts["service_centres"],
        store_order_share=store_share,
        test_drive_share=drive_share,
        before_opening_share=before_share,
    )


def _clock(reader: FieldReader, table: Mapping[str, object], at: FieldPath, default: str) -> str:
    text = reader.optional_text(table, at) or default
    if not _CLOCK.fullmatch(text):
        raise reader.error(at, f"expected a time like 10:00, got {text!r}")
    return text
