"""Launches with production plans for the dashboard's production view: a small one whose
figures are worked by hand, and a realistic one for the browser and the screenshot."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from tests.support import Api, launch_body


def this_monday(zone_now: datetime | None = None) -> date:
    """The Monday of the current week (UTC): week 0 of the plans here."""
    today = (zone_now or datetime.now(UTC)).date()
    return today - timedelta(days=today.weekday())


def variant(sku: str, name: str, price: int, refundable_hours: float = 0) -> dict[str, Any]:
    deposit = {"amount": 5000, "refundable_hours": refundable_hours}
    return {"sku": sku, "name": name, "price": price, "deposit": deposit}


# --- the hand-worked plan: one line of 100 a week, two variants locked at once -----------

HAND_VARIANTS = [variant("YU7-STD", "YU7 Standard", 253500), variant("YU7-MAX", "YU7 Max", 329900)]


def hand_plan(monday: date) -> dict[str, Any]:
    """One line of 100 cars a week for both variants. Packs for the Standard from two
    suppliers and a chip for both from one, each delivering more than the line uses, so
    the line alone sets every week; losing a supplier would not."""
    return {
        "weeks_start": monday.isoformat(),
        "timezone": "UTC",
        "delivery_lag_weeks": 2,
        "window_weeks": 3,
        "lines": [
            {
                "id": "yz",
                "skus": ["YU7-STD", "YU7-MAX"],
                "capacity": [{"from_week": 0, "cars_per_week": 100}],
            }
        ],
        "components": [
            {
                "id": "pack-lfp",
                "per_car": {"YU7-STD": 1},
                "on_hand": 0,
                "suppliers": [
                    {"id": "fudi", "supply": [{"from_week": 0, "units_per_week": 80}]},
                    {"id": "gotion", "supply": [{"from_week": 0, "units_per_week": 40}]},
                ],
            },
            {
                "id": "chip-8295",
                "per_car": {"YU7-STD": 1, "YU7-MAX": 1},
                "on_hand": 0,
                "suppliers": [
                    {"id": "qualcomm", "supply": [{"from_week": 0, "units_per_week": 150}]}
                ],
            },
        ],
    }


# --- a realistic plan: a YU7-like launch a few hundred orders in ---------------------------

REAL_VARIANTS = [
    variant("YU7-STD", "YU7 Standard", 253500, refundable_hours=168),
    variant("YU7-PRO", "YU7 Pro", 279900, refundable_hours=168),
    variant("YU7-MAX", "YU7 Max", 329900, refundable_hours=168),
]


def _rates(key: str, *pairs: tuple[int, int]) -> list[dict[str, int]]:
    return [{"from_week": week, key: count} for week, count in pairs]


def real_plan(monday: date) -> dict[str, Any]:
    """Two lines ramping up (a shutdown week on the first), battery packs of two
    chemistries, a chip and a lidar, some from one supplier only: sized for a few hundred
    orders, so that they fill some weeks."""
    cars = "cars_per_week"
    units = "units_per_week"
    return {
        "weeks_start": monday.isoformat(),
        "timezone": "Asia/Shanghai",
        "delivery_lag_weeks": 3,
        "window_weeks": 3,
        "lines": [
            {
                "id": "yizhuang-1",
                "skus": ["YU7-STD", "YU7-PRO", "YU7-MAX"],
                "capacity": _rates(cars, (0, 30), (2, 45), (6, 0), (7, 60)),
            },
            {"id": "yizhuang-2", "skus": ["YU7-PRO", "YU7-MAX"], "capacity": _rates(cars, (4, 25))},
        ],
        "components": [
            {
                "id": "pack-lfp",
                "per_car": {"YU7-STD": 1},
                "on_hand": 20,
                "suppliers": [
                    {"id": "fudi", "supply": _rates(units, (0, 20))},
                    {"id": "gotion", "supply": _rates(units, (1, 10))},
                ],
            },
            {
                "id": "pack-ncm",
                "per_car": {"YU7-PRO": 1, "YU7-MAX": 1},
                "on_hand": 40,
                "suppliers": [{"id": "catl", "supply": _rates(units, (0, 40), (3, 60))}],
            },
            {
                "id": "chip-8295",
                "per_car": {"YU7-STD": 1, "YU7-PRO": 1, "YU7-MAX": 1},
                "on_hand": 60,
                "suppliers": [{"id": "qualcomm", "supply": _rates(units, (0, 90))}],
            },
            {
                "id": "lidar",
                "per_car": {"YU7-MAX": 1},
                "on_hand": 10,
                "suppliers": [
                    {"id": "hesai", "supply": _rates(units, (0, 20))},
                    {"id": "robosense", "supply": _rates(units, (3, 10))},
                ],
            },
        ],
    }


REAL_SUPPLIERS = {"fudi", "gotion", "catl", "qualcomm", "hesai", "robosense"}


def create_planned_launch(
    api: Api, slug: str, variants: list[dict[str, Any]], plan: dict[str, Any], **body: Any
) -> None:
    """A launch open since a minute ago with this production plan."""
    opens = body.pop("opens_at", datetime.now(UTC) - timedelta(minutes=1))
    created = api.post(
        "/api/v1/launches",
        json=launch_body(slug=slug, opens_at=opens, variants=variants, **body),
        headers=api.admin(),
    )
    assert created.status_code == 201, created.text
    put = api.request("PUT", f"/api/v1/launches/{slug}/production", json=plan, headers=api.admin())
    assert put.status_code == 200, put.text


def place_many(
    base: str, slug: str, orders: Iterable[tuple[str, str]], threads: int = 1
) -> list[dict[str, Any]]:
    """Place (customer, sku) orders over HTTP, `threads` at a time; the orders placed."""

    def place_some(chunk: list[tuple[str, str]]) -> list[dict[str, Any]]:
        with httpx.Client(base_url=base, timeout=30) as client:
            api = Api(client.request)
            placed = []
            for customer, sku in chunk:
                response = api.place(customer, sku, slug=slug)
                assert response.status_code == 201, response.text
                placed.append(response.json())
            return placed

    todo = list(orders)
    if threads == 1:
        return place_some(todo)
    with ThreadPoolExecutor(threads) as pool:
        return [
            order
            for done in pool.map(place_some, [todo[i::threads] for i in range(threads)])
            for order in done
        ]


def lock(base: str, orders: Iterable[dict[str, Any]]) -> None:
    """Lock reserved orders now, as their buyers would (their cars move up the queue)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        api = Api(client.request)
        for order in orders:
            locked = api.post(
                f"/api/v1/orders/{order['id']}/lock", headers=api.as_customer(order["customer"])
            )
            assert locked.status_code == 200, locked.text
