"""The Stripe adapter against a real localstripe process: intents paid, declined, debited,
canceled and refunded as a buyer would see them, and webhooks as localstripe signs them."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from urllib.parse import parse_qs

import pytest

from launchday.payments import signature, stripe_provider
from launchday.payments.stripe_provider import StripeProvider
from launchday.services.ports.payments import (
    BadSignature,
    Intent,
    IntentStatus,
    PaymentProvider,
    ProviderRefused,
    ProviderUnavailable,
    RefundStatus,
)
from tests.localstripe_server import (
    DECLINED_CARD,
    FAILING_IBAN,
    Buyer,
    Delivery,
    LocalStripe,
    PostRecorder,
    free_port,
    localstripe_process,
)

WEBHOOK_SECRET = "whsec_launchday_test"

Scenario = Callable[[StripeProvider, Buyer], Awaitable[None]]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalStripe]:
    with localstripe_process() as running:
        yield running


def provider_for(server: LocalStripe, webhook_secret: str = WEBHOOK_SECRET) -> StripeProvider:
    return StripeProvider(server.api_key, webhook_secret, api_base=server.base_url, timeout=5)


def run(server: LocalStripe, scenario: Scenario) -> None:
    """Run `scenario` on one event loop with a provider and a buyer, closing both after."""

    async def main() -> None:
        provider, buyer = provider_for(server), Buyer(server)
        try:
            await scenario(provider, buyer)
        finally:
            await provider.aclose()
            await buyer.aclose()

    asyncio.run(main())


def new_key() -> str:
    return str(uuid.uuid4())


async def new_intent(provider: StripeProvider, amount: int = 2500) -> Intent:
    return await provider.create_intent(f"ord_{uuid.uuid4().hex[:12]}", amount, "EUR", new_key())


async def until_status(
    provider: StripeProvider, intent_id: str, wanted: IntentStatus, timeout: float = 5
) -> Intent:
    """The intent once it has reached `wanted`, read again until then (or the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        intent = await provider.intent(intent_id)
        if intent.status is wanted or time.monotonic() > deadline:
            return intent
        await asyncio.sleep(0.05)


# --- intents ----------------------------------------------------------------------------


def test_a_new_intent_carries_the_order_amount_and_currency(server: LocalStripe) -> None:
    async def scenario(stripe: StripeProvider, _buyer: Buyer) -> None:
        provider: PaymentProvider = stripe  # the port, as the services will hold it
        assert provider.name == "stripe"
        created = await provider.create_intent("ord_42", 125_000, "EUR", new_key())
        assert created.id.startswith("pi_")
        assert (created.status, created.amount, created.currency, created.order_id) == (
            IntentStatus.AWAITING,
            125_000,
            "EUR",
            "ord_42",
        )
        assert created.client_secret.startswith(created.id)
        assert await provider.intent(created.id) == created

    run(server, scenario)


def test_an_intent_paid_with_a_good_card_succeeds(server: LocalStripe) -> None:
    async def scenario(provider: StripeProvider, buyer: Buyer) -> None:
        intent = await new_intent(provider)
        assert await buyer.pay_with_card(intent.id) == 200
        assert (await provider.intent(intent.id)).status is IntentStatus.SUCCEEDED

    run(server, scenario)


def test_a_declined_card_leaves_the_intent_awaiting_payment(server: LocalStripe) -> None:
    async def scenario(provider: StripeProvider, buyer: Buyer) -> None:
        intent = await new_intent(provider)
        assert await buyer.pay_with_card(intent.id, DECLINED_CARD) == 402
        assert (await provider.intent(intent.id)).status is IntentStatus.AWAITING

    run(server, scenario)


def test_a_sepa_debit_succeeds(server: LocalStripe) -> None:
    # Stripe keeps a good debit `processing` for days; localstripe passes it at once.
    async def scenario(provider: StripeProvider, buyer: Buyer) -> None:
        intent = await new_intent(provider)
        assert await buyer.pay_with_sepa_debit(intent.id) == 200
        paid = await until_status(provider, intent.id, IntentStatus.SUCCEEDED)
        assert paid.status is IntentStatus.SUCCEEDED

    run(server, scenario)


def test_a_sepa_debit_is_processing_until_the_bank_refuses_it(server: LocalStripe) -> None:
    async def scenario(provider: StripeProvider, buyer: Buyer) -> None:
        intent = await new_intent(provider)
        assert await buyer.pay_with_sepa_debit(intent.id, FAILING_IBAN) == 200
        assert (await provider.intent(intent.id)).status is IntentStatus.PROCESSING
        refused = await until_status(provider, intent.id, IntentStatus.AWAITING)
        assert refused.status is IntentStatus.AWAITING

    run(server, scenario)


def test_canceling_an_unpaid_intent_withdraws_it(server: LocalStripe) -> None:
    async def scenario(provider: StripeProvider, _buyer: Buyer) -> None:
        intent = await new_intent(provider)
        assert (await provider.cancel_intent(intent.id)).status is IntentStatus.CANCELED
        assert (await provider.intent(intent.id)).status is IntentStatus.CANCELED

    run(server, scenario)


def test_canceling_a_paid_intent_returns_it_paid(server: LocalStripe) -> None:
    async def scenario(provider: StripeProvider, buyer: Buyer) -> None:
        intent = await new_intent(provider)
        await buyer.pay_with_card(intent.id)
        canceled = await provider.cancel_intent(intent.id)
        assert (canceled.id, canceled.status) == (intent.id, IntentStatus.SUCCEEDED)

    run(server, scenario)


def test_every_intent_is_listed_across_pages(
    server: LocalStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of two, so that three intents need the next pages to be fetched.
    monkeypatch.setattr(stripe_provider, "_PAGE_SIZE", 2)

    async def scenario(provider: StripeProvider, _buyer: Buyer) -> None:
        created = [await new_intent(provider, amount) for amount in (1000, 2000, 3000)]
        listed = {intent.id: intent for intent in await provider.intents()}
        assert [listed[intent.id] for intent in created] == created

    run(server, scenario)


# --- refunds ----------------------------------------------------------------------------


def test_a_paid_intent_is_refunded_and_the_refund_read_again(server: LocalStripe) -> None:
    async def scenario(provider: StripeProvider, buyer: Buyer) -> None:
        intent = await provider.create_intent("ord_refund", 2500, "EUR", new_key())
        await buyer.pay_with_card(intent.id)
        refund = await provider.refund(intent.id, 1000, "ord_refund", new_key())
        assert refund.id.startswith("re_")
        assert (
            refund.intent_id,
            refund.status,
            refund.amount,
            refund.currency,
            refund.order_id,
        ) == (intent.id, RefundStatus.SUCCEEDED, 1000, "EUR", "ord_refund")
        assert await provider.refund_of(refund.id) == refund
        assert refund in await provider.refunds()

    run(server, scenario)


# --- failures ---------------------------------------------------------------------------


def test_an_unknown_intent_is_refused(server: LocalStripe) -> None:
    async def scenario(provider: StripeProvider, _buyer: Buyer) -> None:
        with pytest.raises(ProviderRefused):
            await provider.intent("pi_doesnotexist00")
        with pytest.raises(ProviderRefused):
            await provider.cancel_intent("pi_doesnotexist00")

    run(server, scenario)


def test_a_provider_that_is_down_is_unavailable() -> None:
    async def main() -> None:
        closed = f"http://127.0.0.1:{free_port()}"
        provider = StripeProvider("sk_test_down", WEBHOOK_SECRET, api_base=closed, timeout=2)
        try:
            with pytest.raises(ProviderUnavailable):
                await provider.create_intent("ord_down", 2500, "EUR", new_key())
        finally:
            await provider.aclose()

    asyncio.run(main())


def test_a_provider_that_does_not_answer_in_time_is_unavailable() -> None:
    async def main(port: int) -> None:
        silent = f"http://127.0.0.1:{port}"
        provider = StripeProvider("sk_test_slow", WEBHOOK_SECRET, api_base=silent, timeout=0.3)
        try:
            with pytest.raises(ProviderUnavailable):
                await provider.intent("pi_slow")
        finally:
            await provider.aclose()

    # The kernel completes the connection into the backlog; nothing ever answers.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        asyncio.run(main(listener.getsockname()[1]))


def test_the_idempotency_key_and_minor_units_go_on_the_wire() -> None:
    """localstripe ignores idempotency keys, so a recorder stands in for Stripe here: what
    it was sent is what real Stripe would have been sent."""
    recorder = PostRecorder()

    async def main() -> None:
        provider = StripeProvider("sk_test_wire", WEBHOOK_SECRET, api_base=recorder.base_url)
        try:
            # An empty 200 is no answer Stripe gives: it may be retried, never trusted.
            with pytest.raises(ProviderUnavailable):
                await provider.create_intent("ord_wire", 125_000, "EUR", "key-ord_wire-1")
            with pytest.raises(ProviderUnavailable):
                await provider.refund("pi_wire", 500, "ord_wire", "key-ord_wire-refund")
        finally:
            await provider.aclose()

    try:
        asyncio.run(main())
        create = recorder.wait_for(lambda sent: sent.path == "/v1/payment_intents")
        refund = recorder.wait_for(lambda sent: sent.path == "/v1/refunds")
    finally:
        recorder.close()
    assert create.headers["idempotency-key"] == "key-ord_wire-1"
    assert parse_qs(create.body.decode()) == {
        "amount": ["125000"],
        "currency": ["eur"],
        "capture_method": ["automatic"],
        "metadata[order_id]": ["ord_wire"],
    }
    assert refund.headers["idempotency-key"] == "key-ord_wire-refund"
    assert parse_qs(refund.body.decode()) == {
        "payment_intent": ["pi_wire"],
        "amount": ["500"],
        "metadata[order_id]": ["ord_wire"],
    }


# --- webhooks ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paid_webhook(server: LocalStripe) -> tuple[Delivery, str]:
    """localstripe's own signed POST of `payment_intent.succeeded`, and the intent's id."""
    receiver = PostRecorder()
    url = f"{receiver.base_url}/webhooks/stripe"
    server.register_webhook("launchday", url, WEBHOOK_SECRET, events=["payment_intent.succeeded"])
    paid: list[str] = []

    async def scenario(provider: StripeProvider, buyer: Buyer) -> None:
        intent = await new_intent(provider)
        await buyer.pay_with_card(intent.id)
        paid.append(intent.id)

    try:
        run(server, scenario)
        delivery = receiver.wait_for(
            lambda delivery: delivery.event()["data"]["object"]["id"] == paid[0]
        )
    finally:
        server.silence_webhook("launchday", url)
        receiver.close()
    return delivery, paid[0]


def test_a_webhook_sent_by_localstripe_verifies_and_names_the_intent(
    server: LocalStripe, paid_webhook: tuple[Delivery, str]
) -> None:
    delivery, intent_id = paid_webhook
    event = provider_for(server).verify_webhook(delivery.body, delivery.headers, time.time())
    assert event.id.startswith("evt_")
    assert (event.type, event.object_kind, event.object_id) == (
        "payment_intent.succeeded",
        "intent",
        intent_id,
    )


def test_a_tampered_webhook_body_is_refused(
    server: LocalStripe, paid_webhook: tuple[Delivery, str]
) -> None:
    delivery, intent_id = paid_webhook
    # Change the id's last character to one it is not (ids are random: one ending in
    # "X" made an "X"-for-last-character swap a no-op).
    other_last = "Y" if intent_id.endswith("X") else "X"
    tampered = delivery.body.replace(intent_id.encode(), (intent_id[:-1] + other_last).encode(), 1)
    assert tampered != delivery.body
    assert len(tampered) == len(delivery.body)
    with pytest.raises(BadSignature):
        provider_for(server).verify_webhook(tampered, delivery.headers, time.time())


def test_a_webhook_signed_with_another_secret_is_refused(
    server: LocalStripe, paid_webhook: tuple[Delivery, str]
) -> None:
    delivery, _ = paid_webhook
    provider = provider_for(server, webhook_secret="whsec_someone_else")
    with pytest.raises(BadSignature):
        provider.verify_webhook(delivery.body, delivery.headers, time.time())


def test_a_webhook_older_than_five_minutes_is_refused(
    server: LocalStripe, paid_webhook: tuple[Delivery, str]
) -> None:
    delivery, _ = paid_webhook
    sent_at = delivery.event()["created"]
    provider = provider_for(server)
    provider.verify_webhook(delivery.body, delivery.headers, sent_at + 300)
    with pytest.raises(BadSignature):
        provider.verify_webhook(delivery.body, delivery.headers, sent_at + 301)


def test_a_webhook_without_its_signature_header_is_refused(
    server: LocalStripe, paid_webhook: tuple[Delivery, str]
) -> None:
    delivery, _ = paid_webhook
    headers = {k: v for k, v in delivery.headers.items() if k != "stripe-signature"}
    with pytest.raises(BadSignature):
        provider_for(server).verify_webhook(delivery.body, headers, time.time())


def test_a_signed_body_that_is_not_an_event_is_refused_not_misread(server: LocalStripe) -> None:
    provider = provider_for(server)
    for body in (b"not json", b'{"id": "evt_1", "type": "x"}', b"[]"):
        header = signature.sign(WEBHOOK_SECRET, body, 1_700_000_000)
        with pytest.raises(ProviderRefused):
            provider.verify_webhook(body, {"stripe-signature": header}, 1_700_000_000)


def test_a_charge_event_is_about_its_intent() -> None:
    body = json.dumps(
        {
            "id": "evt_charge",
            "type": "charge.refunded",
            "data": {"object": {"object": "charge", "id": "ch_1", "payment_intent": "pi_9"}},
        }
    ).encode()
    header = signature.sign(WEBHOOK_SECRET, body, 1_700_000_000)
    provider = StripeProvider("sk_test_unused", WEBHOOK_SECRET)
    event = provider.verify_webhook(body, {"stripe-signature": header}, 1_700_000_000)
    assert (event.object_kind, event.object_id) == ("intent", "pi_9")


# --- the signature alone ----------------------------------------------------------------


def test_a_signature_verifies_the_body_it_signed() -> None:
    header = signature.sign("whsec_a", b'{"a": 1}', 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    signature.verify("whsec_a", b'{"a": 1}', header, now=1_700_000_000 - 300)
    with pytest.raises(BadSignature):
        signature.verify("whsec_a", b'{"a": 2}', header, now=1_700_000_000)


def test_a_signature_from_the_future_is_refused() -> None:
    header = signature.sign("whsec_a", b"{}", 1_700_000_000)
    with pytest.raises(BadSignature):
        signature.verify("whsec_a", b"{}", header, now=1_700_000_000 - 301)


def test_while_a_secret_rotates_either_v1_signature_may_match() -> None:
    old = signature.sign("whsec_old", b"{}", 1_700_000_000)
    new = signature.sign("whsec_new", b"{}", 1_700_000_000)
    both = f"{old},{new.split(',')[1]}"
    for secret in ("whsec_old", "whsec_new"):
        signature.verify(secret, b"{}", both, now=1_700_000_000)
    with pytest.raises(BadSignature):
        signature.verify("whsec_other", b"{}", both, now=1_700_000_000)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000", "t=1700000000,v0=00"],
)
def test_a_malformed_signature_header_is_refused(header: str | None) -> None:
    with pytest.raises(BadSignature):
        signature.verify("whsec_a", b"{}", header, now=1_700_000_000)
