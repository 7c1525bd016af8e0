"""localstripe, a stateful fake of Stripe's API, as a real process for the payment tests.

`localstripe_process()` starts `python -m localstripe --from-scratch` on a free port and
stops it at the end; `LocalStripe` registers webhook endpoints with it; `Buyer` pays an
intent over its HTTP API the way a buyer's app does (a payment method, set on the intent,
then the confirmation); `PostRecorder` is an HTTP endpoint that keeps what it is sent (a
webhook receiver, or a stand-in for Stripe to see what a client puts on the wire).

What localstripe does that the tests rely on (localstripe/resources.py): card 4000 0000
0000 0341 is declined when charged (the intent goes back to requires_payment_method); a
SEPA debit stays `processing` for about 0.5 s, then succeeds; events are POSTed, signed
as Stripe signs them, about 1 s after they happen. It binds every interface (`::`) and
writes its state to /tmp/localstripe.pickle after each write; `--from-scratch` keeps it
from reading that file back, so no state passes from one run to the next.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

API_KEY = "sk_test_launchday"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # accepted, then declined when charged
GOOD_IBAN = "DE89370400440532013000"
FAILING_IBAN = "DE62370400440532013001"  # debited, then failed after the delay


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LocalStripe:
    """A running localstripe: its base URL and its special `/_config` routes."""

    base_url: str
    api_key: str = API_KEY

    def register_webhook(
        self, webhook_id: str, url: str, secret: str, events: list[str] | None = None
    ) -> None:
        """Have localstripe POST its events to `url`, signed with `secret` (only the
        `events` types named, if any are)."""
        body: dict[str, Any] = {"url": url, "secret": secret}
        if events is not None:
            body["events"] = events
        answer = httpx.post(f"{self.base_url}/_config/webhooks/{webhook_id}", json=body)
        answer.raise_for_status()

    def silence_webhook(self, webhook_id: str, url: str) -> None:
        """Send nothing more to a webhook: localstripe cannot delete one, but an endpoint
        registered for no event type is sent none."""
        self.register_webhook(webhook_id, url, "silenced", events=[])


def _wait_until_answering(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited at start:\n{log.read_text()}")
        try:
            answer = httpx.get(f"{base_url}/v1/payment_intents", auth=(API_KEY, ""), timeout=2)
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"localstripe did not answer in 30 s:\n{log.read_text()}")
        time.sleep(0.05)


@contextlib.contextmanager
def localstripe_process() -> Iterator[LocalStripe]:
    """A fresh localstripe on a free port, stopped (and its log removed) at the end."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="localstripe-") as folder:
        log = Path(folder) / "localstripe.log"
        with open(log, "wb") as out:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=folder,
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_answering(base_url, process, log)
            yield LocalStripe(base_url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Buyer:
    """A buyer's app paying an intent through localstripe's API. (A real app confirms with
    the publishable key and the intent's client secret; localstripe wants the secret key
    for both steps, so the buyer here uses it.)"""

    def __init__(self, server: LocalStripe) -> None:
        self._client = httpx.AsyncClient(
            base_url=server.base_url, auth=(server.api_key, ""), timeout=10
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def pay_with_card(self, intent_id: str, number: str = GOOD_CARD) -> int:
        """Pay by card; the confirmation's HTTP status (402 when the card is declined)."""
        return await self._pay(
            intent_id,
            {
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
        )

    async def pay_with_sepa_debit(self, intent_id: str, iban: str = GOOD_IBAN) -> int:
        """Pay by SEPA direct debit: the intent is `processing` until the bank answers."""
        return await self._pay(intent_id, {"type": "sepa_debit", "sepa_debit[iban]": iban})

    async def _pay(self, intent_id: str, payment_method: dict[str, str]) -> int:
        created = await self._client.post("/v1/payment_methods", data=payment_method)
        created.raise_for_status()
        attached = await self._client.post(
            f"/v1/payment_intents/{intent_id}", data={"payment_method": created.json()["id"]}
        )
        attached.raise_for_status()
        confirmed = await self._client.post(f"/v1/payment_intents/{intent_id}/confirm")
        if confirmed.status_code not in (200, 402):
            confirmed.raise_for_status()
        return confirmed.status_code


@dataclass(frozen=True)
class Delivery:
    """One POST received: its path, its headers (names in lower case), its body."""

    path: str
    headers: dict[str, str]
    body: bytes

    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class PostRecorder:
    """An HTTP server on a free loopback port that answers every POST with an empty 200
    and keeps what it was sent."""

    def __init__(self) -> None:
        self._deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver._arrived:
                    receiver._deliveries.append(Delivery(self.path, headers, body))
                    receiver._arrived.notify_all()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, matches: Callable[[Delivery], bool], timeout: float = 10) -> Delivery:
        """The first delivery that `matches`, waiting for it at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for delivery in self._deliveries:
                    if matches(delivery):
                        return delivery
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching POST in {timeout} s")
                self._arrived.wait(left)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
