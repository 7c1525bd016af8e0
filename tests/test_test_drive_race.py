"""Test drives over real HTTP: 300 buyers race for 20 places (five slots of a store with
four demo cars) on each database (on PostgreSQL through two server processes), and
exactly 20 are confirmed, none past its slot's fleet; and one buyer books a test drive
as the buyer pages will, from the nearest store to the calendar entry."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import icalendar

from tests.support import ADMIN_KEY, Database, customer_token, launch_body, servers

BUYERS = 300
SLOTS = 5
CARS = 4
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _store(hours: tuple[str, str]) -> dict[str, Any]:
    return {
        "name": "Race store",
        "kinds": ["sales"],
        "city": "Beijing",
        "region": "CN-BJ",
        "lat": 39.92,
        "lon": 116.46,
        "timezone": "Asia/Shanghai",
        "hours": [{"days": EVERY_DAY, "opens": hours[0], "closes": hours[1]}],
        "demo_cars": {"YU7-MAX": CARS},
    }


def _set_up(base: str) -> list[str]:
    """A launch and a store with five one-hour slots tomorrow; their starts."""
    with httpx.Client(base_url=base, timeout=30) as client:
        body = launch_body(opens_at=datetime.now(UTC) - timedelta(hours=1))
        assert client.post("/api/v1/launches", json=body, headers=ADMIN).status_code == 201
        put = client.put("/api/v1/stores/race", json=_store(("10:00", "15:00")), headers=ADMIN)
        assert put.status_code == 200, put.text
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        listed = client.get(
            "/api/v1/launches/yu7-2025/stores/race/test-drive-slots",
            params={"sku": "YU7-MAX", "from": tomorrow, "days": 1},
        ).json()["slots"]
    assert [s["free"] for s in listed] == [CARS] * SLOTS
    return [s["start"] for s in listed]


def _buyer(base: str, n: int, starts: list[str]) -> tuple[int, str | None]:
    """Hold a random slot, then confirm it: the final status code and booking id."""
    me = {"Authorization": f"Bearer {customer_token(f'racer-{n}')}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        held = client.post(
            "/api/v1/launches/yu7-2025/test-drives",
            json={"store": "race", "sku": "YU7-MAX", "start": random.choice(starts)},
            headers=me,
        )
        if held.status_code != 201:
            assert (held.status_code, held.json()["error"]["code"]) == (409, "sold_out")
            return held.status_code, None
        booking = held.json()["id"]
        confirmed = client.post(f"/api/v1/test-drives/{booking}/confirm", headers=me)
        assert confirmed.json()["status"] == "confirmed", confirmed.text
        return confirmed.status_code, booking


def test_300_buyers_race_for_20_places_and_exactly_20_are_confirmed(
    database: Database, tmp_path: Path
) -> None:
    processes = 2 if database.is_postgres else 1
    with servers(database, processes, tmp_path) as bases:
        starts = _set_up(bases[0])
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(
                pool.map(lambda n: _buyer(bases[n % len(bases)], n, starts), range(BUYERS))
            )
    confirmed = [booking for status, booking in results if booking is not None]
    assert len(confirmed) == SLOTS * CARS
    assert sum(1 for status, _ in results if status == 409) == BUYERS - SLOTS * CARS
    per_slot = database.query(
        "SELECT start_us, count(*) FROM bookings WHERE status = 'confirmed' GROUP BY start_us"
    )
    assert sorted(count for _, count in per_slot) == [CARS] * SLOTS
    assert database.scalar("SELECT count(*) FROM bookings") == SLOTS * CARS


def test_a_buyer_books_a_test_drive_as_the_buyer_pages_will(database: Database) -> None:
    with servers(database, 1, Path()) as bases, httpx.Client(base_url=bases[0]) as client:
        _set_up(bases[0])
        me = {"Authorization": f"Bearer {customer_token('walk-in')}"}
        nearest = client.get("/api/v1/stores", params={"near": "39.9,116.4", "kind": "sales"})
        store = nearest.json()["stores"][0]
        assert store["id"] == "race"
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        free = client.get(
            f"/api/v1/launches/yu7-2025/stores/{store['id']}/test-drive-slots",
            params={"sku": "YU7-MAX", "from": tomorrow, "days": 1},
        ).json()["slots"]
        held = client.post(
            "/api/v1/launches/yu7-2025/test-drives",
            json={"store": store["id"], "sku": "YU7-MAX", "start": free[2]["start"]},
            headers=me,
        )
        assert held.status_code == 201, held.text
        booking = held.json()
        confirmed = client.post(f"/api/v1/test-drives/{booking['id']}/confirm", headers=me)
        assert confirmed.json()["status"] == "confirmed"
        calendar = client.get(booking["calendar"], headers=me)
        event = next(iter(icalendar.Calendar.from_ical(calendar.content).walk("VEVENT")))
        assert event.decoded("dtstart") == datetime.fromisoformat(free[2]["start"])
        mine = client.get("/api/v1/launches/yu7-2025/test-drives", headers=me).json()
        assert [(b["id"], b["status"]) for b in mine["bookings"]] == [(booking["id"], "confirmed")]
