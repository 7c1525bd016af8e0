"""Deposits paid through the built-in rehearsal provider, over real loopback HTTP on
SQLite and PostgreSQL: pending until paid, paid by the provider's signed webhook (sent
by the server to itself), refunded on cancellation, expired when the hold ends unpaid,
and the ledger's invariants after each step."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from launchday.payments.rehearsal import RehearsalProvider
from launchday.payments.signature import sign
from tests.payments_support import (
    SLUG,
    admin,
    cancelled_and_refunded,
    create,
    ledger,
    order_of,
    pay,
    place,
    until,
)
from tests.support import (
    SECRET,
    Database,
    customer_token,
    launch_body,
    loopback_server,
)
from tests.test_cli_supply import launchday
from tests.test_dashboard import events

DEPOSIT_MINOR = 500_000  # 5,000 yuan in fen
LIMITED_MINOR = 2_000_000  # the launch edition's 20,000 yuan


@contextmanager
def serving(database: Database, tmp_path: Path) -> Iterator[httpx.Client]:
    settings = database.settings(rehearsal_payments=str(tmp_path / "provider.db"))
    with loopback_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[httpx.Client]:
    """On both databases: the paths that write payments, the ledger and refunds."""
    with serving(database, tmp_path) as client:
        yield client


@pytest.fixture
def sqlite_server(sqlite_database: Database, tmp_path: Path) -> Iterator[httpx.Client]:
    """On SQLite: what reads those same rows (the CLI, the dashboard, the report) and
    the provider's own behaviour, whose writes the tests above cover on both."""
    with serving(sqlite_database, tmp_path) as client:
        yield client


def test_a_deposit_is_pending_until_the_provider_says_it_is_paid(server: httpx.Client) -> None:
    create(server)
    placed = place(server, "c-1")
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "pending_payment"
    payment = order["payment"]
    assert payment["provider"] == "rehearsal"
    assert payment["status"] == "awaiting"
    assert (payment["amount_minor"], payment["currency"]) == (DEPOSIT_MINOR, "CNY")
    assert payment["client_secret"].startswith(payment["intent_id"] + "_secret_")
    assert ledger(server)["balances"]["provider_clearing"] == 0
    locked = server.post(
        f"/api/v1/orders/{order['id']}/lock",
        headers={"Authorization": f"Bearer {customer_token('c-1')}"},
    )
    assert locked.status_code == 409
    assert locked.json()["error"]["code"] == "not_paid"

    assert pay(server, payment, secret=payment["client_secret"] + "x").status_code == 403
    assert order_of(server, order)["status"] == "pending_payment"
    assert pay(server, payment).status_code == 200
    paid = until(lambda: order_of(server, order), lambda o: o["status"] == "reserved")
    assert paid["payment"]["status"] == "succeeded"
    assert paid["refundable_until"] > order["refundable_until"]  # the window starts on payment
    books = ledger(server)
    assert books["holds"], books["discrepancies"]
    assert books["balances"]["provider_clearing"] == DEPOSIT_MINOR
    assert books["balances"]["deposits_held"] == -DEPOSIT_MINOR
    assert books["expected"]["deposits_held"] == DEPOSIT_MINOR


def test_webhooks_take_effect_once_and_forged_ones_change_nothing(
    server: httpx.Client, tmp_path: Path
) -> None:
    create(server)
    order = place(server, "c-2").json()
    assert pay(server, order["payment"]).status_code == 200
    until(lambda: order_of(server, order), lambda o: o["status"] == "reserved")
    provider = RehearsalProvider(tmp_path / "unused.db", SECRET)
    event = {
        "id": "evt_replayed",
        "type": "payment_intent.succeeded",
        "data": {"object": {"object": "payment_intent", "id": order["payment"]["intent_id"]}},
    }
    body = json.dumps(event).encode()
    results = []
    for _ in range(10):  # at least once: the same event again and again
        signature = sign(provider.webhook_secret, body, int(time.time()))
        answer = server.post(
            "/api/v1/payments/rehearsal/webhook",
            content=body,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        results.append(answer.json()["result"])
    assert results[0] in ("already paid", "duplicate")
    assert set(results[1:]) == {"duplicate"}
    before = ledger(server)
    for signature in (
        sign("whsec_forged", body, int(time.time())),
        sign(provider.webhook_secret, body, int(time.time()) - 301),  # stale
        "t=1,v1=00",
    ):
        answer = server.post(
            "/api/v1/payments/rehearsal/webhook",
            content=body,
            headers={"Stripe-Signature": signature},
        )
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "invalid_signature"
    after = ledger(server)
    assert after | {"at": None} == before | {"at": None}
    assert before["balances"]["provider_clearing"] == DEPOSIT_MINOR


def signed_event(
    provider: RehearsalProvider, type: str, kind: str, object_id: str
) -> dict[str, str]:
    body = json.dumps(
        {
            "id": f"evt_{object_id}",
            "type": type,
            "data": {"object": {"object": kind, "id": object_id}},
        }
    )
    return {
        "body": body,
        "signature": sign(provider.webhook_secret, body.encode(), int(time.time())),
    }


def deliver(server: httpx.Client, event: dict[str, str]) -> str:
    answer = server.post(
        "/api/v1/payments/rehearsal/webhook",
        content=event["body"],
        headers={"Stripe-Signature": event["signature"]},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]  # type: ignore[no-any-return]


def test_a_refund_webhook_before_its_payment_webhook_is_handled(
    server: httpx.Client, tmp_path: Path
) -> None:
    create(server)
    provider = RehearsalProvider(tmp_path / "provider.db", SECRET)  # its records, no webhooks
    cancelled, kept = (place(server, f"w-{n}").json() for n in range(2))
    for order in (cancelled, kept):  # paid at the provider, the webhooks still on their way
        paid = asyncio.run(
            provider.pay(order["payment"]["intent_id"], order["payment"]["client_secret"])
        )
        assert paid.status.value == "succeeded"
    assert order_of(server, kept)["status"] == "pending_payment"

    # One buyer cancels: launchday asks the provider, learns of the payment, refunds it.
    cancelled_and_refunded(server, cancelled)
    # The other deposit is refunded in the provider's own console, not by launchday.
    asyncio.run(provider.refund(kept["payment"]["intent_id"], DEPOSIT_MINOR, kept["id"], "console"))
    refund_ids = {refund.order_id: refund.id for refund in asyncio.run(provider.refunds())}

    # Then the webhooks come, each refund's before its payment's.
    results = {}
    for order in (cancelled, kept):
        intent = order["payment"]["intent_id"]
        refund = signed_event(provider, "refund.updated", "refund", refund_ids[order["id"]])
        payment = signed_event(provider, "payment_intent.succeeded", "payment_intent", intent)
        results[order["id"]] = [deliver(server, event) for event in (refund, payment, refund)]
    assert results == {
        cancelled["id"]: ["unchanged", "already paid", "duplicate"],
        kept["id"]: ["not sent by launchday", "already paid", "not sent by launchday"],
    }
    assert order_of(server, cancelled)["status"] == "cancelled"
    settled = order_of(server, kept)
    assert settled["status"] == "reserved"  # its payment settled from the provider's record
    assert settled["payment"]["refund"] is None  # launchday sent none: never two refunds
    books = ledger(server)
    assert books["holds"], books["discrepancies"]
    assert books["balances"]["refunded"] == -DEPOSIT_MINOR
    assert books["balances"]["deposits_held"] == -DEPOSIT_MINOR
    differences = server.get(f"/api/v1/launches/{SLUG}/reconciliation", headers=admin())
    assert differences.json()["differences"] == [
        {
            "order": kept["id"],
            "kind": "refunded_at_provider_only",
            "detail": f"the provider sent {DEPOSIT_MINOR}",
        }
    ]


def test_cancelling_a_paid_deposit_refunds_it_through_the_provider(server: httpx.Client) -> None:
    create(server)
    order = place(server, "c-3").json()
    assert pay(server, order["payment"]).status_code == 200
    until(lambda: order_of(server, order), lambda o: o["status"] == "reserved")
    headers = {"Authorization": f"Bearer {customer_token('c-3')}"}
    cancelled = server.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    refunded = until(
        lambda: order_of(server, order),
        lambda o: (o["payment"]["refund"] or {}).get("status") == "succeeded",
    )
    assert refunded["payment"]["refund"]["amount_minor"] == DEPOSIT_MINOR
    again = server.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert again.status_code == 200  # a retry changes nothing: never two refunds
    books = until(lambda: ledger(server), lambda b: b["balances"]["refunded"] != 0)
    assert books["holds"], books["discrepancies"]
    assert books["balances"] == {
        "provider_clearing": DEPOSIT_MINOR,
        "deposits_held": 0,
        "deposits_locked": 0,
        "refunds_payable": 0,
        "refunded": -DEPOSIT_MINOR,
    }


def test_an_unpaid_order_expires_at_the_end_of_its_hold_and_frees_its_unit(
    server: httpx.Client,
) -> None:
    create(server, hold_minutes=0.02, stock=1)  # a hold of 1.2 s, one launch edition
    first = place(server, "c-4", "YU7-LTD")
    assert first.status_code == 201, first.text
    assert place(server, "c-5", "YU7-LTD").json()["error"]["code"] == "sold_out"
    expired = until(lambda: order_of(server, first.json()), lambda o: o["status"] == "expired")
    assert expired["payment"]["status"] == "canceled"
    # Withdrawn at the provider: paying it now is too late, and changes nothing.
    late = pay(server, first.json()["payment"])
    assert late.status_code == 200
    assert late.json()["status"] == "canceled"
    second = place(server, "c-5", "YU7-LTD")
    assert second.status_code == 201, second.text
    assert pay(server, second.json()["payment"]).status_code == 200
    paid = until(lambda: order_of(server, second.json()), lambda o: o["status"] == "locked")
    assert paid["payment"]["status"] == "succeeded"
    books = ledger(server)
    assert books["holds"], books["discrepancies"]
    assert books["balances"]["deposits_locked"] == -LIMITED_MINOR  # no cooling-off window
    assert books["balances"]["provider_clearing"] == LIMITED_MINOR


def test_a_launch_with_a_provider_the_server_lacks_is_refused(server: httpx.Client) -> None:
    body = launch_body(payments={"provider": "stripe"})
    answer = server.post("/api/v1/launches", json=body, headers=admin())
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "payments.provider"


def test_the_ledger_check_and_the_reconciliation_from_the_command_line(
    sqlite_server: httpx.Client, tmp_path: Path
) -> None:
    create(sqlite_server)
    base = str(sqlite_server.base_url)
    orders = [place(sqlite_server, f"r-{n}").json() for n in range(3)]
    for order in orders[:2]:
        assert pay(sqlite_server, order["payment"]).status_code == 200
        until(lambda o=order: order_of(sqlite_server, o), lambda o: o["status"] == "reserved")
    cancelled_and_refunded(sqlite_server, orders[1])
    checked = launchday("ledger", "check", "--launch", SLUG, base=base)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "the ledger holds" in checked.stdout
    assert "provider_clearing" in checked.stdout
    assert "1,000,000" in checked.stdout  # two deposits of 500,000 fen paid
    matched = launchday("reconcile", "--launch", SLUG, base=base)
    assert matched.returncode == 0, matched.stdout + matched.stderr
    assert "2 intents and 1 refunds" in matched.stdout

    # The third deposit paid at the provider, its webhook lost: the reconciliation says so.
    records = tmp_path / "provider.db"
    provider = RehearsalProvider(records, SECRET)  # the provider's own records, no webhook
    intent = orders[2]["payment"]
    asyncio.run(provider.pay(intent["intent_id"], intent["client_secret"]))
    differs = launchday("reconcile", "--launch", SLUG, base=base)
    assert differs.returncode == 1, differs.stdout + differs.stderr
    assert orders[2]["id"] in differs.stdout
    assert "paid_at_provider_only" in differs.stdout
    answer = sqlite_server.get(f"/api/v1/launches/{SLUG}/reconciliation", headers=admin())
    assert answer.json()["differences"] == [
        {
            "order": orders[2]["id"],
            "kind": "paid_at_provider_only",
            "detail": "the provider took 500000",
        }
    ]


def test_the_dashboard_counts_paid_orders_with_the_placed_beside_them(
    sqlite_server: httpx.Client,
) -> None:
    create(sqlite_server, hold_minutes=0.02)
    orders = [place(sqlite_server, f"d-{n}").json() for n in range(3)]
    assert pay(sqlite_server, orders[0]["payment"]).status_code == 200
    until(lambda: order_of(sqlite_server, orders[0]), lambda o: o["status"] == "reserved")
    for order in orders[1:]:
        until(lambda o=order: order_of(sqlite_server, o), lambda o: o["status"] == "expired")
    with sqlite_server.stream("GET", f"/launches/{SLUG}/live") as stream:
        assert stream.status_code == 200
        event = next(events(stream))
    counts = event["orders"]
    assert (counts["placed"], counts["paid"], counts["expired"]) == (3, 1, 2)
    assert counts["live"] == 1  # the expired gave their units back
    page = sqlite_server.get(f"/launches/{SLUG}")
    assert page.status_code == 200
    assert "Paid orders" in page.text
    assert 'id="counter" data-value="1"' in page.text


def test_the_report_counts_deposits_placed_paid_expired_and_refunded(
    sqlite_server: httpx.Client,
) -> None:
    create(sqlite_server, hold_minutes=0.02)
    orders = [place(sqlite_server, f"p-{n}").json() for n in range(4)]
    for order in orders[:2]:
        assert pay(sqlite_server, order["payment"]).status_code == 200
    for order in orders[:2]:
        until(lambda o=order: order_of(sqlite_server, o), lambda o: o["status"] == "reserved")
    cancelled_and_refunded(sqlite_server, orders[1])
    for order in orders[2:]:
        until(lambda o=order: order_of(sqlite_server, o), lambda o: o["status"] == "expired")
    report = sqlite_server.get(f"/api/v1/launches/{SLUG}/report", headers=admin())
    assert report.status_code == 200, report.text
    figures = report.json()["payments"]
    assert figures == {
        "provider": "rehearsal",
        "currency": "CNY",
        "placed": 4,
        "paid": 2,
        "pending": 0,
        "expired": 2,
        "paid_minor": 2 * 500_000,
        "refunds_sent": 1,
        "refunds_owed": 0,
        "refunds_failed": 0,
        "refunded_minor": 500_000,
        "ledger_holds": True,
        "ledger_discrepancies": [],
    }


def test_a_hold_whose_payment_is_processing_is_extended_not_dropped(
    server: httpx.Client,
) -> None:
    create(server, hold_minutes=0.02)  # a hold of 1.2 s
    order = place(server, "b-1").json()
    payment = order["payment"]
    debit = server.post(
        f"/api/v1/rehearsal-payments/{payment['intent_id']}/pay",
        json={"client_secret": payment["client_secret"], "method": "bank_debit"},
    )
    assert debit.json()["status"] == "processing"
    processing = until(
        lambda: order_of(server, order), lambda o: o["payment"]["status"] == "processing"
    )
    assert processing["payment"]["hold_until"] > payment["hold_until"]
    time.sleep(3)  # past the first hold and the next: the bank has not answered yet
    waiting = order_of(server, order)
    assert waiting["status"] == "pending_payment"
    assert waiting["payment"]["hold_until"] > processing["payment"]["hold_until"]
    answered = server.post(
        f"/api/v1/rehearsal-payments/{payment['intent_id']}/bank",
        json={"paid": True},
        headers=admin(),
    )
    assert answered.json()["status"] == "succeeded"
    paid = until(lambda: order_of(server, order), lambda o: o["status"] == "reserved")
    assert paid["payment"]["status"] == "succeeded"
    assert ledger(server)["holds"]


def test_a_refused_bank_debit_expires_the_order_at_the_end_of_its_hold(
    sqlite_server: httpx.Client,
) -> None:
    create(sqlite_server, hold_minutes=0.02)
    order = place(sqlite_server, "b-2").json()
    payment = order["payment"]
    sqlite_server.post(
        f"/api/v1/rehearsal-payments/{payment['intent_id']}/pay",
        json={"client_secret": payment["client_secret"], "method": "bank_debit"},
    )
    until(lambda: order_of(sqlite_server, order), lambda o: o["payment"]["status"] == "processing")
    refused = sqlite_server.post(
        f"/api/v1/rehearsal-payments/{payment['intent_id']}/bank",
        json={"paid": False},
        headers=admin(),
    )
    assert refused.json()["status"] == "awaiting"
    expired = until(lambda: order_of(sqlite_server, order), lambda o: o["status"] == "expired")
    assert expired["payment"]["status"] == "canceled"
    assert ledger(sqlite_server)["balances"]["provider_clearing"] == 0
