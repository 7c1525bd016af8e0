"""CPU per request of launchday's order path or ticket poll, in process, without HTTP.

Calls the ASGI app directly, 64 requests at a time (like 64 connections), on a fresh
SQLite database, and reports the CPU the process spent per request and the share of it
the SQLite writer thread took. No network and no load generator: the figure moves
little when the machine is shared, which makes it the one to compare changes with.

    .venv/bin/python bench/inprocess.py [orders|locks|mixed|polls] [--count N] [--tickets N]
        [--plan] [--trims] [--profile]

`locks` places the orders first (untimed), then times each customer's early lock.
`mixed` places `--count` orders first (untimed), then times new orders and early locks
of those in turn, as a launch night's first minutes send them.
`polls` polls `--tickets` waiting tickets (2,000 unless told) round and round.

`--plan` gives the launch (c3)'s production plan, so every order carries its promise.
`--trims` sells three variants, ordered in turn as on a launch night (each with its own
battery pack on the plan's one line), instead of one.

`--profile` prints cProfile's top functions (event-loop thread only).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import uvloop
from harness.http_scenarios import SKU, production_plan

from launchday.api.auth import mint_customer_token
from launchday.app import App, create_app
from launchday.config import Settings

SECRET = b"bench-secret-0123456789abcdef-0123456789abcdef"
ADMIN = "bench-admin"
WAVE = 64


async def call(
    app: App, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": headers,
        "query_string": b"",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], sent[1]["body"]


def thread_cpu(native_id: int) -> float:
    after = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after[11]) + int(after[12])) / os.sysconf("SC_CLK_TCK")


async def in_waves(
    requests: Callable[[int], Awaitable[tuple[int, bytes]]], count: int, *expected: int
) -> list[bytes]:
    """Requests 0 to count - 1, WAVE at a time (like WAVE connections), each answered
    with one of the `expected` statuses; their bodies."""
    bodies: list[bytes] = []
    for first in range(0, count, WAVE):
        answers = await asyncio.gather(
            *(requests(n) for n in range(first, min(first + WAVE, count)))
        )
        assert all(status in expected for status, _ in answers), answers[0]
        bodies += [body for _, body in answers]
    return bodies


TRIMS = (SKU, "YU7-PRO", "YU7-STD")


def with_trims(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with its line building all three trims, each with its own pack."""
    [line] = plan["lines"]
    [pack] = plan["components"]
    return {
        **plan,
        "lines": [{**line, "skus": list(TRIMS)}],
        "components": [{**pack, "id": f"pack-{sku}", "per_car": {sku: 1}} for sku in TRIMS],
    }


async def run(
    kind: str, count: int, tickets_kept: int, plan: bool, trims: bool, profile: bool, db: Path
) -> None:
    now = datetime.now(UTC)
    sold = TRIMS if trims else TRIMS[:1]
    tokens = [
        mint_customer_token(SECRET, f"b-{n}", now, timedelta(hours=1)).encode()
        for n in range(tickets_kept if kind == "polls" else 2 * count if kind == "mixed" else count)
    ]
    app = create_app(Settings(db_url=f"sqlite:///{db}", admin_key=ADMIN, secret=SECRET))
    await app.startup()
    admission = {"rate_per_second": 1, "token_ttl_seconds": 900} if kind == "polls" else None
    spec = {
        "slug": "bench",
        "name": "Bench",
        "currency": "CNY",
        "opens_at": (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        "deposit": {"amount": 5000, "refundable_hours": 168},
        "variants": [{"sku": sku, "name": sku, "price": 1, "lead_weeks": [39, 42]} for sku in sold],
        "admission": admission,
    }
    admin = [(b"authorization", f"Bearer {ADMIN}".encode())]
    status, _ = await call(app, "POST", "/api/v1/launches", admin, msgspec.json.encode(spec))
    assert status == 201, status
    if plan:
        body = msgspec.json.encode(with_trims(production_plan()) if trims else production_plan())
        status, _ = await call(app, "PUT", "/api/v1/launches/bench/production", admin, body)
        assert status == 200, status
    requests: Callable[[int], Awaitable[tuple[int, bytes]]]
    if kind in ("orders", "locks", "mixed"):
        bodies = [msgspec.json.encode({"sku": sku}) for sku in sold]

        def place(n: int) -> Awaitable[tuple[int, bytes]]:
            headers = [
                (b"content-type", b"application/json"),
                (b"authorization", b"Bearer " + tokens[n]),
                (b"idempotency-key", b"k%d" % n),
            ]
            # In turn but not in a cycle: the trims of a night's buyers come mixed.
            body = bodies[(n * 7 + n // 5) % len(bodies)]
            return call(app, "POST", "/api/v1/launches/bench/orders", headers, body)

        requests, expected = place, (201,)
    if kind == "locks":
        order_ids = [json.loads(body)["id"] for body in await in_waves(place, count, 201)]

        def lock(n: int) -> Awaitable[tuple[int, bytes]]:
            headers = [(b"authorization", b"Bearer " + tokens[n])]
            return call(app, "POST", f"/api/v1/orders/{order_ids[n]}/lock", headers)

        requests, expected = lock, (200,)
    if kind == "mixed":
        order_ids = [json.loads(body)["id"] for body in await in_waves(place, count, 201)]

        def place_or_lock(n: int) -> Awaitable[tuple[int, bytes]]:
            if n % 2:
                headers = [(b"authorization", b"Bearer " + tokens[n // 2])]
                return call(app, "POST", f"/api/v1/orders/{order_ids[n // 2]}/lock", headers)
            return place(count + n // 2)

        requests, expected = place_or_lock, (201, 200)
    if kind == "polls":
        tickets = []
        for token in tokens:
            _, body = await call(
                app,
                "POST",
                "/api/v1/launches/bench/queue",
                [(b"authorization", b"Bearer " + token)],
            )
            tickets.append(json.loads(body)["ticket"])

        def requests(n: int) -> Awaitable[tuple[int, bytes]]:
            kept = n % tickets_kept
            headers = [(b"authorization", b"Bearer " + tokens[kept])]
            return call(app, "GET", f"/api/v1/launches/bench/queue/{tickets[kept]}", headers)

        expected = (200,)
    writer = next(t for t in threading.enumerate() if t.name == "launchday-writer")
    gc.collect()
    gc.freeze()
    profiler = cProfile.Profile() if profile else None
    started, cpu, writer_cpu = (
        time.perf_counter(),
        time.process_time(),
        thread_cpu(writer.native_id),
    )
    if profiler:
        profiler.enable()
    await in_waves(requests, count, *expected)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    cpu, writer_cpu = time.process_time() - cpu, thread_cpu(writer.native_id) - writer_cpu
    await app.shutdown()
    print(
        f"{kind}: {count:,} in {elapsed:.2f} s ({count / elapsed:,.0f}/s);"
        f" CPU {cpu / count * 1e6:.1f} us per request,"
        f" of which the writer thread {writer_cpu / count * 1e6:.1f} us"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "kind", choices=["orders", "locks", "mixed", "polls"], nargs="?", default="orders"
    )
    parser.add_argument("--count", type=int, default=30_000)
    parser.add_argument("--tickets", type=int, default=2_000, help="waiting tickets to poll")
    parser.add_argument("--plan", action="store_true", help="with (c3)'s production plan")
    parser.add_argument("--trims", action="store_true", help="three variants ordered in turn")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "bench.db"
        uvloop.run(
            run(args.kind, args.count, args.tickets, args.plan, args.trims, args.profile, db)
        )


if __name__ == "__main__":
    main()
