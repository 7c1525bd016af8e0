"""Deposits paid through Stripe's protocol, end to end: launchday (a real server over
loopback, on SQLite and PostgreSQL) creates PaymentIntents at localstripe (a real
process), a buyer pays there, localstripe's signed webhook pays the order, a
cancellation refunds through Stripe, and a provider that is down answers 503 without
losing or doubling anything."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchday.cli import free_port
from tests.localstripe_server import DECLINED_CARD, Buyer, LocalStripe, localstripe_process
from tests.payments_support import SLUG, admin, create, ledger, order_of, place, until
from tests.support import Database, customer_token, loopback_server

WEBHOOK_SECRET = "whsec_launchday_tests"
DEPOSIT_MINOR = 500_000


@pytest.fixture(scope="module")
def stripe() -> Iterator[LocalStripe]:
    with localstripe_process() as server:
        yield server


@pytest.fixture
def server(
    sqlite_database: Database, stripe: LocalStripe, tmp_path: Path
) -> Iterator[httpx.Client]:
    """On SQLite: these tests are about Stripe's protocol; the rehearsal provider's tests
    run the same payment paths on both databases."""
    settings = sqlite_database.settings(
        stripe_key=stripe.api_key,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe.base_url,
        rehearsal_payments=str(tmp_path / "rehearsal.db"),
    )
    with loopback_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        # Every test's server takes localstripe's events (the last registered: localstripe
        # keeps them all, so the earlier ones are silenced).
        stripe.register_webhook(
            "launchday", f"{base}/api/v1/payments/stripe/webhook", WEBHOOK_SECRET
        )
        yield client
        stripe.silence_webhook("launchday", f"{base}/api/v1/payments/stripe/webhook")


def buyer_pays(stripe: LocalStripe, intent_id: str, card: str | None = None) -> int:
    async def run() -> int:
        buyer = Buyer(stripe)
        try:
            if card is None:
                return await buyer.pay_with_card(intent_id)
            return await buyer.pay_with_card(intent_id, card)
        finally:
            await buyer.aclose()

    return asyncio.run(run())


def stripe_refunds(stripe: LocalStripe, intent_id: str) -> list[dict[str, object]]:
    answer = httpx.get(
        f"{stripe.base_url}/v1/refunds",
        params={"payment_intent": intent_id},
        auth=(stripe.api_key, ""),
    )
    answer.raise_for_status()
    return answer.json()["data"]  # type: ignore[no-any-return]


def test_a_deposit_paid_at_stripe_pays_the_order_and_a_cancellation_refunds_it(
    server: httpx.Client, stripe: LocalStripe
) -> None:
    create(server, provider="stripe")
    order = place(server, "s-1").json()
    assert order["status"] == "pending_payment"
    payment = order["payment"]
    assert payment["intent_id"].startswith("pi_")
    assert payment["client_secret"].startswith(payment["intent_id"])
    assert payment["amount_minor"] == DEPOSIT_MINOR
    assert buyer_pays(stripe, payment["intent_id"]) == 200
    paid = until(lambda: order_of(server, order), lambda o: o["status"] == "reserved")
    assert paid["payment"]["status"] == "succeeded"
    books = ledger(server)
    assert books["holds"], books["discrepancies"]
    assert books["balances"]["provider_clearing"] == DEPOSIT_MINOR

    headers = {"Authorization": f"Bearer {customer_token('s-1')}"}
    assert server.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers).status_code == 200
    refunded = until(
        lambda: order_of(server, order),
        lambda o: (o["payment"]["refund"] or {}).get("status") == "succeeded",
    )
    assert refunded["status"] == "cancelled"
    assert server.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers).status_code == 200
    at_stripe = stripe_refunds(stripe, payment["intent_id"])
    assert [(r["amount"], r["status"]) for r in at_stripe] == [(DEPOSIT_MINOR, "succeeded")]
    books = until(lambda: ledger(server), lambda b: b["balances"]["refunded"] != 0)
    assert books["holds"], books["discrepancies"]
    assert books["balances"]["refunded"] == -DEPOSIT_MINOR


def test_a_declined_card_leaves_the_order_pending(
    server: httpx.Client, stripe: LocalStripe
) -> None:
    create(server, provider="stripe")
    order = place(server, "s-2").json()
    assert buyer_pays(stripe, order["payment"]["intent_id"], DECLINED_CARD) == 402
    read = order_of(server, order)
    assert read["status"] == "pending_payment"
    assert read["payment"]["status"] == "awaiting"
    assert ledger(server)["balances"]["provider_clearing"] == 0


def test_a_provider_that_is_down_gets_the_buyer_a_503_and_one_order(
    sqlite_database: Database, tmp_path: Path
) -> None:
    database = sqlite_database
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = database.settings(
        stripe_key="sk_test_down",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=down,
        rehearsal_payments=str(tmp_path / "rehearsal.db"),
    )
    with loopback_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        create(client, provider="stripe")
        answers = [place(client, "s-3") for _ in range(3)]  # the buyer retries, same key
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "payments_unavailable"
            assert int(answer.headers["Retry-After"]) > 0
        rows = database.query(
            "SELECT o.status, p.intent_id FROM orders o JOIN payments p ON p.order_seq = o.seq"
            " JOIN launches l ON l.id = o.launch_id WHERE l.slug = ? AND o.customer = ?",
            SLUG,
            "s-3",
        )
        assert rows == [("pending_payment", None)]  # one order, holding its unit, no intent


def test_a_refund_the_provider_cannot_take_is_retried_until_it_can(
    database: Database, stripe: LocalStripe, tmp_path: Path
) -> None:
    """Paid at Stripe; cancelled while Stripe is unreachable (the refund fails, is shown
    to the admin and retried with backoff); sent once Stripe answers again."""

    def settings(api_base: str) -> Any:
        return database.settings(
            stripe_key=stripe.api_key,
            stripe_webhook_secret=WEBHOOK_SECRET,
            stripe_api_base=api_base,
            rehearsal_payments=str(tmp_path / "rehearsal.db"),
        )

    with loopback_server(settings(stripe.base_url)) as base, httpx.Client(base_url=base) as up:
        webhook = f"{base}/api/v1/payments/stripe/webhook"
        stripe.register_webhook("launchday", webhook, WEBHOOK_SECRET)
        create(up, provider="stripe")
        order = place(up, "s-4").json()
        assert buyer_pays(stripe, order["payment"]["intent_id"]) == 200
        until(lambda: order_of(up, order), lambda o: o["status"] == "reserved")
        stripe.silence_webhook("launchday", webhook)

    unreachable = f"http://127.0.0.1:{free_port()}"
    with loopback_server(settings(unreachable)) as base, httpx.Client(base_url=base) as down:
        headers = {"Authorization": f"Bearer {customer_token('s-4')}"}
        cancelled = down.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
        assert cancelled.json()["status"] == "cancelled"
        failed = until(
            lambda: down.get(
                f"/api/v1/launches/{SLUG}/refunds?status=failed", headers=admin()
            ).json(),
            lambda found: bool(found["refunds"]),
        )["refunds"][0]
        assert failed["order"] == order["id"]
        assert failed["attempts"] >= 1
        assert failed["last_error"]
        assert failed["next_attempt_at"] > cancelled.json()["cancelled_at"]
        books = ledger(down)
        assert books["holds"], books["discrepancies"]
        assert books["balances"]["refunds_payable"] == -DEPOSIT_MINOR  # owed, not yet sent

    with loopback_server(settings(stripe.base_url)) as base, httpx.Client(base_url=base) as back:
        sent = until(
            lambda: order_of(back, order),
            lambda o: (o["payment"]["refund"] or {}).get("status") == "succeeded",
        )
        assert sent["payment"]["refund"]["attempts"] >= 1
        at_stripe = stripe_refunds(stripe, order["payment"]["intent_id"])
        assert [(r["amount"], r["status"]) for r in at_stripe] == [(DEPOSIT_MINOR, "succeeded")]
        books = ledger(back)
        assert books["holds"], books["discrepancies"]
        assert books["balances"]["refunded"] == -DEPOSIT_MINOR
