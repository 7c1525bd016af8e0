"""The load driver: replays a timeline of customer actions against a real server over HTTP.

It is asynchronous and keeps its connections alive. aiohttp is the client: on this
kind of machine, 64 connections from one core posted about 6,200 orders/s with
aiohttp against 450/s with httpx (same server, same run), and the rehearsal needs
3,000/s from one core.

Each action is due at `opens + at / speed` in real time. A scheduler releases actions
when they fall due onto a queue that a fixed pool of workers drains; an action that a
busy pool sends late counts as lag, and the replay reports its lag instead of
drifting silently.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec

from launchday.sim.customers import Event

_encode = msgspec.json.encode
# Retries for an order refused as overloaded (429/503) or cut off by the network. The
# Idempotency-Key makes every retry safe: the server returns the order it already took.
MAX_ATTEMPTS = 6
# An action sent later than this after its due time (real seconds) counts as late.
LATE_AFTER_SECONDS = 0.5


@dataclass
class ReplayStats:
    """What the replay did so far; read by progress displays while it runs."""

    due: int = 0
    sent: int = 0
    orders_acked: int = 0
    orders_failed: int = 0
    fallbacks: int = 0
    locks: int = 0
    cancels: int = 0
    skipped: int = 0
    retries: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    late: int = 0
    max_lag: float = 0.0
    lags: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    launch_elapsed: float = 0.0

    def lag_quantile(self, q: float) -> float:
        """The q-quantile of how late actions were sent, in real seconds."""
        if not self.lags:
            return 0.0
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Refused(Exception):
    """The server answered with an error body."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


class LoadDriver:
    """Posts customer actions to a launchday server; one instance per replay."""

    def __init__(
        self,
        base_url: str,
        slug: str,
        token_for: Callable[[str], str],
        *,
        connections: int = 256,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.slug = slug
        self._token_for = token_for
        self._tokens: dict[str, str] = {}
        self.connections = connections
        self.order_ids: dict[str, str] = {}
        self.stats = ReplayStats()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LoadDriver:
        connector = aiohttp.TCPConnector(limit=self.connections, ttl_dns_cache=None)
        timeout = aiohttp.ClientTimeout(total=60)
        self._session = aiohttp.ClientSession(self.base_url, connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def _bearer(self, customer: str) -> str:
        token = self._tokens.get(customer)
        if token is None:
            token = self._tokens[customer] = self._token_for(customer)
        return f"Bearer {token}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One call (JSON `body` or `raw` bytes); retries overload and dropped connections.

        Retrying is safe: orders carry an Idempotency-Key, and locks, cancels and imports
        give the same result when repeated.
        """
        assert self._session is not None, "use `async with LoadDriver(...)`"
        data = raw if body is None else _encode(body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        for attempt in range(MAX_ATTEMPTS):
            try:
                async with self._session.request(
                    method, path, data=data, headers=all_headers
                ) as response:
                    payload = await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except (TimeoutError, aiohttp.ClientError):
                self.stats.transport_errors += 1
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            if status in (429, 503) and attempt + 1 < MAX_ATTEMPTS:
                self.stats.retries += 1
                await asyncio.sleep(min(float(retry_after or 1), 5.0))
                continue
            return status, msgspec.json.decode(payload) if payload else None
        return 599, {"error": {"code": "unreachable"}}

    async def place(self, customer: str, sku: str, profile: Any | None, key: str) -> str:
        """Place an order; returns its id or raises Refused."""
        body: dict[str, Any] = {"sku": sku}
        if profile is not None:
            body["profile"] = profile
        status, answer = await self.request(
            "POST",
            f"/api/v1/launches/{self.slug}/orders",
            body=body,
            headers={"Authorization": self._bearer(customer), "Idempotency-Key": key},
        )
        if status != 201:
            raise Refused(status, _code(answer))
        return str(answer["id"])

    async def change(self, customer: str, action: str) -> None:
        """Lock or cancel the customer's order."""
        order_id = self.order_ids.get(customer)
        if order_id is None:
            self.stats.skipped += 1  # the order itself was refused: nothing to change
            return
        status, answer = await self.request(
            "POST",
            f"/api/v1/orders/{order_id}/{action}",
            headers={"Authorization": self._bearer(customer)},
        )
        if status != 200:
            self.stats.refusals[f"{action}:{_code(answer)}"] += 1
        elif action == "lock":
            self.stats.locks += 1
        else:
            self.stats.cancels += 1

    async def perform(self, event: Event) -> None:
        """Do what one simulated customer does at one moment."""
        customer = event.customer
        if event.kind != "order":
            await self.change(customer.id, event.kind)
            return
        planned = customer.order
        assert planned is not None
        # A customer who registered interest already gave the profile; others give it now.
        profile = customer.profile if customer.registered_at is None else None
        try:
            self.order_ids[customer.id] = await self.place(
                customer.id, planned.sku, profile, f"{customer.id}-order"
            )
        except Refused as refusal:
            self.stats.refusals[refusal.code] += 1
            if refusal.code != "sold_out" or planned.fallback_sku is None:
                self.stats.orders_failed += 1
                return
            try:
                self.order_ids[customer.id] = await self.place(
                    customer.id, planned.fallback_sku, profile, f"{customer.id}-fallback"
                )
                self.stats.fallbacks += 1
            except Refused as second:
                self.stats.refusals[second.code] += 1
                self.stats.orders_failed += 1
                return
        self.stats.orders_acked += 1

    async def replay(
        self,
        events: Iterable[Event],
        *,
        opens_in: float,
        speed: float,
        on_tick: Callable[[ReplayStats], Awaitable[None] | None] | None = None,
    ) -> ReplayStats:
        """Replay `events` (sorted by launch seconds) with opening `opens_in` real seconds away."""
        opens = time.monotonic() + opens_in
        queue: asyncio.Queue[tuple[float, Event] | None] = asyncio.Queue()
        stats = self.stats

        async def worker() -> None:
            while (item := await queue.get()) is not None:
                due, event = item
                lag = time.monotonic() - due
                stats.lags.append(lag)
                stats.max_lag = max(stats.max_lag, lag)
                if lag > LATE_AFTER_SECONDS:
                    stats.late += 1
                stats.sent += 1
                await self.perform(event)

        async def ticker() -> None:
            while True:
                stats.launch_elapsed = max(0.0, (time.monotonic() - opens) * speed)
                if on_tick is not None:
                    result = on_tick(stats)
                    if result is not None:
                        await result
                await asyncio.sleep(0.25)

        workers = [asyncio.create_task(worker()) for _ in range(self.connections)]
        ticking = asyncio.create_task(ticker())
        try:
            for event in events:
                due = opens + event.at / speed
                delay = due - time.monotonic()
                if delay > 0.001:
                    await asyncio.sleep(delay)
                stats.due += 1
                queue.put_nowait((due, event))
            for _ in workers:
                queue.put_nowait(None)
            await asyncio.gather(*workers)
        finally:
            ticking.cancel()
            for task in workers:
                task.cancel()
        stats.launch_elapsed = max(0.0, (time.monotonic() - opens) * speed)
        if on_tick is not None:
            result = on_tick(stats)
            if result is not None:
                await result
        return stats


def _code(answer: Any) -> str:
    try:
        return str(answer["error"]["code"])
    except (TypeError, KeyError):
        return "unexpected"
