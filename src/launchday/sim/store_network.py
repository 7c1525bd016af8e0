"""A brand's store network for a rehearsal, generated from its published counts.

What is published is how many stores of each kind a brand had and in how many cities,
not where each one is. So a network is generated: the cities are taken from the table
below in its order (the four first-tier cities, then the large provincial and regional
centres), as many as the scenario's `cities` (at most the table's length); each city
gets a sales store, the rest go by the city's weight (largest remainders), delivery
and service centres to the largest cities first. Coordinates are the city's centre
spread by a few kilometres. Everything here is marked generated: a rehearsal needs a
network of the right size and spread, not the brand's addresses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from launchday.sim.scenario import ScenarioRetail

# (city, ISO 3166-2 region, latitude, longitude, weight): 3 for the first-tier cities,
# 2 for the new first tier, 1 for the others. Centres rounded to a hundredth of a degree.
CITIES: Final = (
    ("Beijing", "CN-BJ", 39.90, 116.41, 3),
    ("Shanghai", "CN-SH", 31.23, 121.47, 3),
    ("Guangzhou", "CN-GD", 23.13, 113.26, 3),
    ("Shenzhen", "CN-GD", 22.54, 114.06, 3),
    ("Chengdu", "CN-SC", 30.57, 104.07, 2),
    ("Hangzhou", "CN-ZJ", 30.27, 120.16, 2),
    ("Chongqing", "CN-CQ", 29.56, 106.55, 2),
    ("Wuhan", "CN-HB", 30.59, 114.31, 2),
    ("Xi'an", "CN-SN", 34.34, 108.94, 2),
    ("Suzhou", "CN-JS", 31.30, 120.59, 2),
    ("Nanjing", "CN-JS", 32.06, 118.80, 2),
    ("Tianjin", "CN-TJ", 39.13, 117.20, 2),
    ("Zhengzhou", "CN-HA", 34.75, 113.63, 2),
    ("Changsha", "CN-HN", 28.23, 112.94, 2),
    ("Dongguan", "CN-GD", 23.02, 113.75, 2),
    ("Qingdao", "CN-SD", 36.07, 120.38, 2),
    ("Shenyang", "CN-LN", 41.80, 123.43, 2),
    ("Ningbo", "CN-ZJ", 29.87, 121.54, 2),
    ("Kunming", "CN-YN", 25.04, 102.71, 2),
    ("Hefei", "CN-AH", 31.82, 117.23, 1),
    ("Foshan", "CN-GD", 23.02, 113.12, 1),
    ("Fuzhou", "CN-FJ", 26.07, 119.30, 1),
    ("Xiamen", "CN-FJ", 24.48, 118.09, 1),
    ("Jinan", "CN-SD", 36.65, 117.12, 1),
    ("Wuxi", "CN-JS", 31.49, 120.31, 1),
    ("Dalian", "CN-LN", 38.91, 121.61, 1),
    ("Harbin", "CN-HL", 45.80, 126.53, 1),
    ("Changchun", "CN-JL", 43.82, 125.32, 1),
    ("Shijiazhuang", "CN-HE", 38.04, 114.51, 1),
    ("Nanning", "CN-GX", 22.82, 108.37, 1),
    ("Nanchang", "CN-JX", 28.68, 115.86, 1),
    ("Guiyang", "CN-GZ", 26.65, 106.63, 1),
    ("Taiyuan", "CN-SX", 37.87, 112.55, 1),
    ("Wenzhou", "CN-ZJ", 28.00, 120.67, 1),
    ("Quanzhou", "CN-FJ", 24.87, 118.68, 1),
    ("Changzhou", "CN-JS", 31.81, 119.97, 1),
    ("Nantong", "CN-JS", 32.00, 120.86, 1),
    ("Xuzhou", "CN-JS", 34.26, 117.18, 1),
    ("Yantai", "CN-SD", 37.46, 121.45, 1),
    ("Weifang", "CN-SD", 36.71, 119.16, 1),
    ("Shaoxing", "CN-ZJ", 30.00, 120.58, 1),
    ("Jinhua", "CN-ZJ", 29.08, 119.65, 1),
    ("Huizhou", "CN-GD", 23.11, 114.42, 1),
    ("Zhuhai", "CN-GD", 22.27, 113.58, 1),
    ("Tangshan", "CN-HE", 39.63, 118.18, 1),
    ("Baoding", "CN-HE", 38.87, 115.46, 1),
    ("Luoyang", "CN-HA", 34.62, 112.45, 1),
    ("Mianyang", "CN-SC", 31.47, 104.68, 1),
    ("Yichang", "CN-HB", 30.69, 111.29, 1),
    ("Wuhu", "CN-AH", 31.35, 118.43, 1),
    ("Hohhot", "CN-NM", 40.84, 111.75, 1),
    ("Urumqi", "CN-XJ", 43.83, 87.62, 1),
    ("Lanzhou", "CN-GS", 36.06, 103.83, 1),
    ("Haikou", "CN-HI", 20.04, 110.32, 1),
    ("Sanya", "CN-HI", 18.25, 109.51, 1),
    ("Yinchuan", "CN-NX", 38.49, 106.23, 1),
    ("Xining", "CN-QH", 36.62, 101.78, 1),
    ("Lhasa", "CN-XZ", 29.65, 91.13, 1),
)
EVERY_DAY: Final = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPREAD_KM: Final = 4.0
_GOLDEN_ANGLE: Final = math.pi * (3 - math.sqrt(5))


@dataclass(frozen=True, slots=True)
class GeneratedStore:
    """One store of a generated network: its id and its `PUT /api/v1/stores/{id}` body."""

    id: str
    city: str
    kind: str  # "sales", "delivery" or "service"
    body: dict[str, Any]


def generate_network(retail: ScenarioRetail, skus: Sequence[str]) -> list[GeneratedStore]:
    """The network `retail` describes, the same every time (see the module)."""
    cities = CITIES[: max(1, min(retail.cities, len(CITIES)))]
    sales = _shares(retail.sales_stores, [c[4] for c in cities], floor=1)
    delivery = _largest_first(retail.delivery_centres, len(cities))
    service = _largest_first(retail.service_centres, len(cities))
    stores: list[GeneratedStore] = []
    for index, city in enumerate(cities):
        for kind, count in (("sales", sales[index]), ("delivery", delivery[index]),
                            ("service", service[index])):  # fmt: skip
            for n in range(count):
                stores.append(_store(retail, skus, city, kind, n, len(stores)))
    return stores


def _store(
    retail: ScenarioRetail,
    skus: Sequence[str],
    city: tuple[str, str, float, float, int],
    kind: str,
    n: int,
    seq: int,
) -> GeneratedStore:
    name, region, lat, lon, _weight = city
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    store_id = f"{slug}-{kind}-{n + 1}"
    # Spread round the centre on a sunflower spiral: no two stores of a city on one spot.
    radius = _SPREAD_KM * math.sqrt(seq % 50 + 1) / math.sqrt(50)
    angle = seq * _GOLDEN_ANGLE
    body: dict[str, Any] = {
        "name": f"{retail.brand} {name} {kind} {n + 1}",
        "kinds": [kind],
        "city": name,
        "region": region,
        "lat": round(lat + radius / 111.0 * math.sin(angle), 5),
        "lon": round(lon + radius / (111.0 * math.cos(math.radians(lat))) * math.cos(angle), 5),
        "timezone": retail.timezone,
        "hours": [{"days": EVERY_DAY, "opens": retail.opens, "closes": retail.closes}],
    }
    if kind == "sales":
        body["demo_cars"] = _fleet(retail.demo_cars, skus)
        body["test_drive_minutes"] = retail.test_drive_minutes
    if kind == "delivery":
        body["handover_bays"] = retail.handover_bays
        body["logistics_weeks"] = 0 if region == retail.plant_region else retail.logistics_weeks
    return GeneratedStore(store_id, name, kind, body)


def _fleet(cars: int, skus: Sequence[str]) -> dict[str, int]:
    """A store's demo cars, spread over the variants (the first ones get the odd cars)."""
    each, odd = divmod(cars, len(skus))
    fleet = {sku: each + (1 if i < odd else 0) for i, sku in enumerate(skus)}
    return {sku: n for sku, n in fleet.items() if n > 0}


def _shares(total: int, weights: Sequence[int], floor: int = 0) -> list[int]:
    """`total` split by `weights`, each at least `floor` while there are enough, the rest by
    largest remainders (ties to the earlier city)."""
    base = [min(floor, total // len(weights)) for _ in weights]
    left = total - sum(base)
    exact = [left * w / sum(weights) for w in weights]
    counts = [b + int(e) for b, e in zip(base, exact, strict=True)]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _largest_first(total: int, cities: int) -> list[int]:
    """`total` centres over the cities in order: one each from the first, round again."""
    return [total // cities + (1 if i < total % cities else 0) for i in range(cities)]
