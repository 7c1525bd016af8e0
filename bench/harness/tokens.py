"""Pre-minted customer tokens, and waiting-room tickets taken before a run.

Customer number n is "b-<n>"; line n of a token file is its token (and, for a
waiting room, its admission token or ticket). Minting happens before any server
runs, so the signing never competes with what is measured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from launchday.api.auth import mint_customer_token

TOKEN_TTL = timedelta(hours=6)
MINT_CHUNK = 25_000
JOIN_CONNECTIONS = 64


def customer(n: int) -> str:
    """The id of benchmark customer number n."""
    return f"b-{n}"


def _mint_range(secret: bytes, issued: datetime, start: int, stop: int) -> str:
    return "".join(
        mint_customer_token(secret, customer(n), issued, TOKEN_TTL) + "\n"
        for n in range(start, stop)
    )


def mint_tokens(path: Path, count: int, secret: bytes) -> list[str]:
    """Write `count` customer tokens to `path`, one per line; also return them.

    Signed in two processes (both cores are free before the servers start): at about
    14 µs a token, half a million take several seconds on one core.
    """
    issued = datetime.now(UTC)
    starts = range(0, count, MINT_CHUNK)
    with ProcessPoolExecutor(max_workers=2) as pool:
        chunks = pool.map(
            _mint_range,
            *zip(*((secret, issued, s, min(s + MINT_CHUNK, count)) for s in starts), strict=True),
        )
        text = "".join(chunks)
    path.write_text(text)
    return text.splitlines()


def write_lines(path: Path, rows: list[tuple[str, ...]]) -> None:
    """A token file of space-separated fields, one customer per line."""
    path.write_text("".join(" ".join(row) + "\n" for row in rows))


async def _join_all(
    base_url: str, slug: str, tokens: list[str], pick: Callable[[dict[str, Any]], str | None]
) -> list[str]:
    """Join the waiting room as each customer; `pick` takes what to keep from the ticket
    (None: read the ticket again until it has it)."""
    found: list[str] = [""] * len(tokens)
    numbers = iter(range(len(tokens)))
    queue = f"/api/v1/launches/{slug}/queue"

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        auth = {"Authorization": f"Bearer {tokens[n]}"}
        async with session.post(queue, headers=auth) as response:
            ticket = await response.json()
            if response.status not in (200, 201):
                raise RuntimeError(f"joining as {customer(n)}: {response.status} {ticket}")
        while (kept := pick(ticket)) is None:
            await asyncio.sleep(0.01)
            async with session.get(f"{queue}/{ticket['ticket']}", headers=auth) as response:
                ticket = await response.json()
        found[n] = kept

    async def loop(session: aiohttp.ClientSession) -> None:
        for n in numbers:
            await one(session, n)

    connector = aiohttp.TCPConnector(limit=JOIN_CONNECTIONS)
    async with aiohttp.ClientSession(base_url, connector=connector) as session:
        await asyncio.gather(*(loop(session) for _ in range(JOIN_CONNECTIONS)))
    return found


def join_for_admission(base_url: str, slug: str, tokens: list[str]) -> list[str]:
    """Each customer's admission token, after joining a room that admits at once."""

    def admission(ticket: dict[str, Any]) -> str | None:
        if ticket["state"] == "admitted":
            return str(ticket["admission_token"])
        if ticket["state"] == "waiting":
            return None  # read the ticket again
        raise RuntimeError(f"ticket {ticket['ticket']} is {ticket['state']}, not admitted")

    return asyncio.run(_join_all(base_url, slug, tokens, admission))


def join_for_tickets(base_url: str, slug: str, tokens: list[str]) -> list[str]:
    """Each customer's ticket id, after joining a room (admitted or still waiting)."""
    return asyncio.run(_join_all(base_url, slug, tokens, lambda ticket: str(ticket["ticket"])))
