"""Scenario (s): a buyer's page listing a store's free test-drive slots for 14 days,
beside (e), the ticket poll.

200 stores, each open 10:00-21:00 with hour-long slots and two demo cars of the
variant (154 slots in 14 days); 2,000 buyers hold a slot first, so the counts are not
all zero. Each request lists another store's slots: worked out from the store's hours
in memory, its bookings counted in one indexed read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from harness.context import ADMIN_KEY, SECRET, Bench, ScenarioResult
from harness.http_scenarios import create_launch, finish, launch_body, measure, read_tokens
from harness.servers import launchday_server
from harness.tokens import write_lines
from harness.wrk import Slice
from launchday.cli import free_port

STORES = 200
HOLDS = 2_000
SLUG = "bench-stores"
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def store_body(n: int) -> dict[str, object]:
    return {
        "name": f"Store {n}",
        "kinds": ["sales"],
        "city": "Beijing",
        "region": "CN-BJ",
        "lat": 39.9 + n / 1000,
        "lon": 116.4 + n / 1000,
        "timezone": "Asia/Shanghai",
        "hours": [{"days": EVERY_DAY, "opens": "10:00", "closes": "21:00"}],
        "demo_cars": {"YU7-MAX": 2},
    }


def free_slots(bench: Bench) -> ScenarioResult:
    """GET a store's free slots for 14 days, each request another store."""
    result = ScenarioResult("s", "test-drive slots, 14 days")
    port = free_port()
    server = launchday_server(
        "s", bench.scratch / "s.db", port, bench.scratch / "s.server.log", ADMIN_KEY, SECRET
    )
    try:
        server.wait_ready()
        create_launch(server, launch_body(SLUG))
        stores = [f"store-{n:03d}" for n in range(STORES)]
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        tokens = read_tokens(bench, HOLDS)
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            for n, store in enumerate(stores):
                put = client.put(f"/api/v1/stores/{store}", json=store_body(n), headers=admin)
                put.raise_for_status()
            slots = client.get(
                f"/api/v1/launches/{SLUG}/stores/{stores[0]}/test-drive-slots",
                params={"sku": "YU7-MAX", "from": tomorrow, "days": 7},
            ).json()["slots"]
            for n, token in enumerate(tokens):
                held = client.post(
                    f"/api/v1/launches/{SLUG}/test-drives",
                    json={
                        "store": stores[n % STORES],
                        "sku": "YU7-MAX",
                        "start": slots[(n // STORES) % len(slots)]["start"],
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                held.raise_for_status()
        path = bench.scratch / "s-stores.txt"
        write_lines(path, [(store,) for store in stores])
        result.figures.update(stores=STORES, holds=HOLDS)
        result.notes.append(f"{STORES} stores, {HOLDS:,} holds; 14 days of hour-long slots")
        per_thread = STORES // bench.threads
        slices = [Slice(path, 0, per_thread, bench.threads) for _ in bench.run_seconds]
        measure(bench, result, server, "slots.lua", f"/api/v1/launches/{SLUG}/stores/", slices)
    finally:
        finish(result, server)
    return result
