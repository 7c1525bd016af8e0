"""Webhooks sent as a provider sends them: in the background, at least once, retried
with backoff until the receiver answers 2xx (the receiver takes each event once).

A few senders drain one queue, each over a connection of its own: thousands of posts
handed to an HTTP client's pool at once cost it time in proportion to their number on
every step (httpcore matches each waiting request against each connection), so a burst
of payments would spend the server's core there."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

log = logging.getLogger("launchday.payments.webhooks")

ATTEMPTS = 8
SENDERS = 8


class WebhookSender:
    """Posts signed bodies to a URL; never blocks its caller."""

    def __init__(self, timeout: float = 10) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._queue: asyncio.Queue[tuple[str, bytes, str, int]] = asyncio.Queue()
        self._senders: list[asyncio.Task[None]] = []
        self._retrying: set[asyncio.Task[None]] = set()

    def send(self, url: str, body: bytes, signature: str) -> None:
        if not self._senders:
            limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)
            self._client = httpx.AsyncClient(timeout=self._timeout, limits=limits)
            self._senders = [asyncio.ensure_future(self._drain()) for _ in range(SENDERS)]
        self._queue.put_nowait((url, body, signature, 0))

    async def _drain(self) -> None:
        while True:
            url, body, signature, attempt = await self._queue.get()
            try:
                if not await self._post(url, body, signature) and attempt + 1 < ATTEMPTS:
                    # Again later, without holding a sender meanwhile.
                    wait = min(0.25 * 2**attempt, 30)
                    retry = asyncio.ensure_future(
                        self._later(wait, (url, body, signature, attempt + 1))
                    )
                    self._retrying.add(retry)
                    retry.add_done_callback(self._retrying.discard)
                elif attempt + 1 >= ATTEMPTS:
                    log.error("webhook to %s given up after %d attempts", url, ATTEMPTS)
            finally:
                self._queue.task_done()

    async def _later(self, wait: float, item: tuple[str, bytes, str, int]) -> None:
        await asyncio.sleep(wait)
        self._queue.put_nowait(item)

    async def _post(self, url: str, body: bytes, signature: str) -> bool:
        assert self._client is not None
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
        try:
            answer = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            log.warning("webhook to %s failed: %r", url, error)
            return False
        if 200 <= answer.status_code < 300:
            return True
        log.warning("webhook to %s answered %d", url, answer.status_code)
        return False

    async def flush(self) -> None:
        """Wait for the webhooks queued (at shutdown), at most the timeout."""
        if self._senders:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), self._timeout)

    async def aclose(self) -> None:
        for task in [*self._senders, *self._retrying]:
            task.cancel()
        self._senders = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None
