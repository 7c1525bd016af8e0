"""What a rehearsal asks of the server besides the crowd's own requests: its clock, the
registrations imported before the opening, and the payments settled after the replay."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import msgspec

from launchday.sim.customers import SimCustomer
from launchday.sim.driver import LoadDriver

# Registrations sent per request (NDJSON lines).
IMPORT_CHUNK = 20_000
# Round trips read to learn the server's clock (the shortest is kept).
SKEW_SAMPLES = 8


async def clock_skew(driver: LoadDriver) -> timedelta:
    """The server's clock minus ours, so the opening minute is the server's.

    Read as NTP does: of several round trips, the shortest bounds the error best. One
    read alone is off by up to half its round trip, and the first request to a server
    just started can wait tens of milliseconds (at x6000 a minute of launch time, enough
    to send the opening's orders before the doors open).
    """
    samples: list[tuple[float, timedelta]] = []
    for _ in range(SKEW_SAMPLES):
        before = datetime.now(UTC)
        status, answer = await driver.request("GET", "/api/v1/time")
        after = datetime.now(UTC)
        if status == 200:
            server = datetime.fromisoformat(answer["now"])
            samples.append(
                ((after - before).total_seconds(), server - (before + (after - before) / 2))
            )
    return min(samples, key=lambda sample: sample[0])[1] if samples else timedelta(0)


async def import_registrations(
    driver: LoadDriver,
    slug: str,
    registered: list[SimCustomer],
    opens_at: datetime,
    admin: dict[str, str],
) -> None:
    """Send the registrations (times relative to the opening) in NDJSON chunks."""
    for start in range(0, len(registered), IMPORT_CHUNK):
        lines = [
            msgspec.json.encode(
                {
                    "customer": customer.id,
                    "registered_at": opens_at + timedelta(seconds=customer.registered_at or 0.0),
                    "profile": customer.profile,
                }
            )
            for customer in registered[start : start + IMPORT_CHUNK]
        ]
        status, answer = await driver.request(
            "POST",
            f"/api/v1/launches/{slug}/interest/import",
            raw=b"\n".join(lines),
            headers={**admin, "Content-Type": "application/x-ndjson"},
        )
        if status != 200 or answer["rejected_count"]:
            raise RuntimeError(f"the interest import failed: {status} {answer}")


async def payments_settled(
    driver: LoadDriver, slug: str, admin: dict[str, str], patience: float = 30.0
) -> None:
    """Wait until the server has taken the webhook of every deposit paid (the provider
    sends them in the background), so that the report counts them all."""
    await driver.payments_sent()
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        status, books = await driver.request(
            "GET", f"/api/v1/launches/{slug}/ledger", headers=admin
        )
        if status == 200 and books["balances"]["provider_clearing"] >= driver.stats.paid_minor:
            return
        await asyncio.sleep(0.2)
