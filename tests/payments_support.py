"""What the payment tests share: a launch taking deposits through a provider, and the
calls a buyer and an admin make (over any httpx client)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.support import ADMIN_KEY, customer_token, launch_body

SLUG = "yu7-2025"


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def create(
    client: httpx.Client, hold_minutes: float = 15, stock: int = 5000, provider: str = "rehearsal"
) -> None:
    body = launch_body(payments={"provider": provider, "hold_minutes": hold_minutes})
    body["variants"][1]["stock"] = stock
    answer = client.post("/api/v1/launches", json=body, headers=admin())
    assert answer.status_code == 201, answer.text
    assert answer.json()["payments"] == {"provider": provider, "hold_minutes": hold_minutes}


def place(client: httpx.Client, customer: str, sku: str = "YU7-MAX") -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {customer_token(customer)}",
        "Idempotency-Key": f"{customer}-{sku}",
    }
    return client.post(f"/api/v1/launches/{SLUG}/orders", json={"sku": sku}, headers=headers)


def order_of(client: httpx.Client, order: dict[str, Any]) -> dict[str, Any]:
    answer = client.get(
        f"/api/v1/orders/{order['id']}",
        headers={"Authorization": f"Bearer {customer_token(order['customer'])}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def pay(client: httpx.Client, payment: dict[str, Any], secret: str | None = None) -> httpx.Response:
    return client.post(
        f"/api/v1/rehearsal-payments/{payment['intent_id']}/pay",
        json={"client_secret": secret or payment["client_secret"]},
    )


def ledger(client: httpx.Client) -> dict[str, Any]:
    answer = client.get(f"/api/v1/launches/{SLUG}/ledger", headers=admin())
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def until(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> Any:
    """Poll `read` until `done` says so (the webhooks and the sweep run in the background)."""
    deadline = time.monotonic() + 20
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value}"
        time.sleep(0.05)


def cancelled_and_refunded(client: httpx.Client, order: dict[str, Any]) -> dict[str, Any]:
    """Its buyer cancels the paid order; the order once its refund has succeeded."""
    headers = {"Authorization": f"Bearer {customer_token(order['customer'])}"}
    answer = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert answer.status_code == 200, answer.text
    return until(  # type: ignore[no-any-return]
        lambda: order_of(client, order),
        lambda o: (o["payment"]["refund"] or {}).get("status") == "succeeded",
    )
