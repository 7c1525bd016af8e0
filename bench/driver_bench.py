"""How many requests per second the rehearsal's load driver sustains from one core.

The server runs pinned to core 0, this process to core 1. Both clients post the same
orders (distinct customers and idempotency keys) in a closed loop over 64 keep-alive
connections: the rehearsal's LoadDriver (its own small HTTP client, launchday.sim.http)
and, for comparison, a plain aiohttp session (the driver's client before). Warm-up
first, then three runs each; medians reported, with the client's own CPU per request
(when the server is the limit, that tells what the client could do on its own).
Run: .venv/bin/python bench/driver_bench.py
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx

from launchday.api.auth import mint_customer_token
from launchday.cli import free_port
from launchday.sim.driver import LoadDriver

SECRET = b"bench-secret-0123456789abcdef-0123456789abcdef"
ADMIN = "bench-admin"
CONNECTIONS = 64
PER_RUN = 20_000
RUNS = 3


def launch_body(opens_at: datetime) -> dict[str, object]:
    return {
        "slug": "bench",
        "name": "Bench",
        "currency": "CNY",
        "opens_at": opens_at.isoformat(),
        "deposit": {"amount": 5000, "refundable_hours": 168},
        "variants": [{"sku": "MAX", "name": "Max", "price": 329900}],
    }


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


async def closed_loop(
    send: Callable[[int], Awaitable[int]], first: int, count: int
) -> tuple[float, float]:
    """Requests per second for `count` sends from CONNECTIONS concurrent loops, and the
    client's CPU microseconds per request."""
    numbers = iter(range(first, first + count))
    statuses: list[int] = []

    async def loop() -> None:
        for n in numbers:
            statuses.append(await send(n))

    started, cpu = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*(loop() for _ in range(CONNECTIONS)))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert statuses.count(201) == count, f"not all accepted: {set(statuses)}"
    return count / elapsed, cpu / count * 1e6


async def measure(base: str, tokens: list[str]) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {"LoadDriver": [], "aiohttp": []}
    offset = 0
    async with LoadDriver(base, "bench", tokens.__getitem__, connections=CONNECTIONS) as driver:

        async def by_driver(n: int) -> int:
            status, _ = await driver.request(
                "POST",
                "/api/v1/launches/bench/orders",
                body={"sku": "MAX"},
                headers={"Authorization": f"Bearer {tokens[n]}", "Idempotency-Key": f"k{n}"},
            )
            return status

        await closed_loop(by_driver, offset, 2000)  # warm-up
        offset += 2000
        for _ in range(RUNS):
            results["LoadDriver"].append(await closed_loop(by_driver, offset, PER_RUN))
            offset += PER_RUN

    connector = aiohttp.TCPConnector(limit=CONNECTIONS, ttl_dns_cache=None)
    async with aiohttp.ClientSession(base, connector=connector) as session:

        async def by_aiohttp(n: int) -> int:
            async with session.post(
                "/api/v1/launches/bench/orders",
                data=b'{"sku":"MAX"}',
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {tokens[n]}",
                    "Idempotency-Key": f"k{n}",
                },
            ) as response:
                await response.read()
                return response.status

        await closed_loop(by_aiohttp, offset, 2000)
        offset += 2000
        for _ in range(RUNS):
            results["aiohttp"].append(await closed_loop(by_aiohttp, offset, PER_RUN))
            offset += PER_RUN
    return results


def main() -> None:
    total = 2 * (2000 + RUNS * PER_RUN)
    now = datetime.now(UTC)
    tokens = [mint_customer_token(SECRET, f"c-{n}", now, timedelta(hours=1)) for n in range(total)]
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        env = {
            **os.environ,
            "LAUNCHDAY_DB": f"sqlite:///{Path(scratch) / 'bench.db'}",
            "LAUNCHDAY_ADMIN_KEY": ADMIN,
            "LAUNCHDAY_SECRET": SECRET.decode(),
        }
        server = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "launchday", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        os.sched_setaffinity(0, {1})
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{base}/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            httpx.post(
                f"{base}/api/v1/launches",
                json=launch_body(now - timedelta(minutes=1)),
                headers={"Authorization": f"Bearer {ADMIN}"},
            ).raise_for_status()
            results = asyncio.run(measure(base, tokens))
        finally:
            server.terminate()
            server.wait()
    print(f"{'client (one core)':<14}{'median orders/s':>16}{'client CPU us/order':>21}   runs")
    for name, runs in results.items():
        rates = [rate for rate, _ in runs]
        cpu = statistics.median(us for _, us in runs)
        listed = ", ".join(f"{rate:,.0f}" for rate in rates)
        print(f"{name:<14}{statistics.median(rates):>16,.0f}{cpu:>21.0f}   {listed}")


if __name__ == "__main__":
    main()
