"""A store network as CSV, one store a row, read into the bodies `PUT /api/v1/stores/{id}`
takes. The columns (docs/stores.md has an example file):

    id, name, kinds, city, region, lat, lon, timezone, hours, demo_cars,
    test_drive_minutes, handover_bays, handover_minutes, logistics_weeks

`kinds` and `demo_cars` (`YU7-STD:1;YU7-MAX:2`) are lists separated by `;`; `hours` is
`;`-separated groups of days (`mon-fri`, `sat,sun`) and a span (`mon-fri 10:00-21:00;
sat-sun 09:30-22:00`). The last five columns may be absent or empty (their defaults).
The server checks the rest (the region's form, the zone, overlapping hours) and says
which field is wrong.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launchday.domain.retail_store import WEEKDAYS

REQUIRED = ("id", "name", "kinds", "city", "region", "lat", "lon", "timezone", "hours")
NUMBERS = ("test_drive_minutes", "handover_bays", "handover_minutes", "logistics_weeks")


class CsvProblem(ValueError):
    """A row that cannot be read: its line and what is wrong."""


@dataclass(frozen=True, slots=True)
class StoreRow:
    line: int
    id: str
    body: dict[str, Any]


def _days(text: str) -> list[str]:
    days: list[str] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise CsvProblem(f"{part.strip()!r} is not a day or a range of days (mon-fri)")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            raise CsvProblem(f"{part.strip()!r} runs backwards")
        days.extend(WEEKDAYS[start : end + 1])
    return days


def parse_hours(text: str) -> list[dict[str, Any]]:
    """`mon-fri 10:00-21:00; sat,sun 09:30-22:00` as the API's hours."""
    hours = []
    for group in text.split(";"):
        if not group.strip():
            continue
        days, _, span = group.strip().rpartition(" ")
        opens, _, closes = span.partition("-")
        if not days or not closes:
            raise CsvProblem(f"hours {group.strip()!r}: days, a space, then HH:MM-HH:MM")
        hours.append({"days": _days(days), "opens": opens, "closes": closes})
    return hours


def parse_demo_cars(text: str) -> dict[str, int]:
    cars: dict[str, int] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        sku, _, count = part.strip().rpartition(":")
        if not sku or not count.strip().isdigit():
            raise CsvProblem(f"demo cars {part.strip()!r}: SKU:count")
        cars[sku] = int(count)
    return cars


def _row(line: int, row: dict[str, str]) -> StoreRow:
    missing = [name for name in REQUIRED if not (row.get(name) or "").strip()]
    if missing:
        raise CsvProblem(f"missing {', '.join(missing)}")
    try:
        lat, lon = float(row["lat"]), float(row["lon"])
    except ValueError:
        raise CsvProblem("lat and lon are numbers") from None
    body: dict[str, Any] = {
        "name": row["name"].strip(),
        "kinds": [k.strip() for k in row["kinds"].split(";") if k.strip()],
        "city": row["city"].strip(),
        "region": row["region"].strip(),
        "lat": lat,
        "lon": lon,
        "timezone": row["timezone"].strip(),
        "hours": parse_hours(row["hours"]),
        "demo_cars": parse_demo_cars(row.get("demo_cars") or ""),
    }
    for name in NUMBERS:
        value = (row.get(name) or "").strip()
        if value:
            if not value.isdigit():
                raise CsvProblem(f"{name} is a whole number")
            body[name] = int(value)
    return StoreRow(line, row["id"].strip(), body)


def read_stores(path: Path) -> Iterator[StoreRow | CsvProblem]:
    """Each row as a store's body, or the problem with it (its line named)."""
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        absent = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
        if absent:
            yield CsvProblem(f"line 1: the header lacks {', '.join(absent)}")
            return
        for row in reader:
            try:
                yield _row(reader.line_num, row)
            except CsvProblem as problem:
                yield CsvProblem(f"line {reader.line_num}: {problem}")
