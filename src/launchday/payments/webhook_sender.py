"""Webhooks sent as a provider sends them: in the background, at least once, retried
with backoff until the receiver answers 2xx (the receiver takes each event once)."""

from __future__ import annotations

import asyncio
import logging

import httpx

log = logging.getLogger("launchday.payments.webhooks")

ATTEMPTS = 8


class WebhookSender:
    """Posts signed bodies to a URL; never blocks its caller."""

    def __init__(self, timeout: float = 10) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def send(self, url: str, body: bytes, signature: str) -> None:
        task = asyncio.ensure_future(self._send(url, body, signature))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, url: str, body: bytes, signature: str) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
        for attempt in range(ATTEMPTS):
            try:
                answer = await self._client.post(url, content=body, headers=headers)
                if 200 <= answer.status_code < 300:
                    return
                log.warning("webhook to %s answered %d", url, answer.status_code)
            except httpx.HTTPError as error:
                log.warning("webhook to %s failed: %s", url, error)
            await asyncio.sleep(min(0.25 * 2**attempt, 30))
        log.error("webhook to %s given up after %d attempts", url, ATTEMPTS)

    async def flush(self) -> None:
        """Wait for the webhooks on their way (at shutdown)."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=self._timeout)

    async def aclose(self) -> None:
        for task in list(self._sending):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
