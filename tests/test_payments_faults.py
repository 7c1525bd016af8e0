"""Payments when things go wrong, over real server processes on both databases: the
server killed with SIGKILL after the provider took the money but before any webhook
could take effect, then the provider's webhooks replayed ten times, shuffled and late
(past the hold). Nothing is lost, nothing is taken twice, the ledger holds and matches
the provider's records."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchday.cli import free_port
from launchday.payments.rehearsal import RehearsalProvider
from launchday.payments.signature import sign
from tests.payments_support import SLUG, admin, until
from tests.support import (
    SECRET,
    Database,
    customer_token,
    launch_body,
    start_server_process,
    wait_until_healthy,
)

ORDERS = 20
DEPOSIT_MINOR = 500_000


@contextlib.contextmanager
def serving(db: Database, logs: Path) -> Iterator[tuple[str, int]]:
    """`launchday serve` on `db` as its own process group; its base URL and pid."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server_process(db.url, port, log=logs / f"serve-{port}.log")
    try:
        wait_until_healthy(base, server)
        yield base, server.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except Exception:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def place(base: str, n: int) -> dict[str, Any]:
    answer = httpx.post(
        f"{base}/api/v1/launches/{SLUG}/orders",
        json={"sku": "YU7-MAX"},
        headers={
            "Authorization": f"Bearer {customer_token(f'f-{n}')}",
            "Idempotency-Key": f"f-{n}",
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def statuses(base: str, orders: list[dict[str, Any]]) -> list[str]:
    found = []
    for order in orders:
        answer = httpx.get(f"{base}/api/v1/orders/{order['id']}", headers=admin())
        assert answer.status_code == 200, answer.text
        found.append(answer.json()["status"])
    return found


def test_money_taken_while_the_server_was_dead_pays_its_orders_once(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = tmp_path / "provider.db"
    monkeypatch.setenv("LAUNCHDAY_REHEARSAL_PAYMENTS", str(records))
    with serving(database, tmp_path) as (base, pid):
        body = launch_body(payments={"provider": "rehearsal", "hold_minutes": 0.05})  # 3 s
        assert httpx.post(f"{base}/api/v1/launches", json=body, headers=admin()).status_code == 201
        orders = [place(base, n) for n in range(ORDERS)]
        os.killpg(pid, signal.SIGKILL)
    # The provider takes half the deposits while launchday is down: no webhook reaches it.
    provider = RehearsalProvider(records, SECRET)
    paid = orders[::2]
    for order in paid:
        intent = asyncio.run(
            provider.pay(order["payment"]["intent_id"], order["payment"]["client_secret"])
        )
        assert intent.status.value == "succeeded"

    with serving(database, tmp_path) as (base, _):
        # At the end of each hold the provider is asked: the paid are paid, the rest expire.
        settled = until(
            lambda: {"s": statuses(base, orders)},
            lambda found: "pending_payment" not in found["s"],
        )["s"]
        assert settled == ["reserved" if n % 2 == 0 else "expired" for n in range(ORDERS)]

        # Then the webhooks the provider could not deliver come, ten times, shuffled, late.
        events = [
            json.dumps(
                {
                    "id": f"evt_{order['id']}",
                    "type": "payment_intent.succeeded",
                    "data": {
                        "object": {"object": "payment_intent", "id": order["payment"]["intent_id"]}
                    },
                }
            ).encode()
            for order in paid
        ]
        deliveries = events * 10
        random.Random(7).shuffle(deliveries)
        results = []
        for event in deliveries:
            signature = sign(provider.webhook_secret, event, int(time.time()))
            answer = httpx.post(
                f"{base}/api/v1/payments/rehearsal/webhook",
                content=event,
                headers={"Stripe-Signature": signature},
            )
            assert answer.status_code == 200, answer.text
            results.append(answer.json()["result"])
        assert set(results) <= {"already paid", "duplicate"}
        assert statuses(base, orders) == settled

        books = httpx.get(f"{base}/api/v1/launches/{SLUG}/ledger", headers=admin()).json()
        assert books["holds"], books["discrepancies"]
        assert books["balances"]["provider_clearing"] == DEPOSIT_MINOR * len(paid)
        assert books["balances"]["deposits_held"] == -DEPOSIT_MINOR * len(paid)
        matched = httpx.get(f"{base}/api/v1/launches/{SLUG}/reconciliation", headers=admin())
        assert matched.json()["matches"], matched.json()["differences"]
        assert matched.json()["provider_intents"] == ORDERS  # paid, and withdrawn at expiry
