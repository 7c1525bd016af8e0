"""The rehearsal payment provider: launchday's own stand-in for a provider, so that a
rehearsal pays every deposit over HTTP at launch-night rates with no account anywhere.

It behaves as a provider does, seen from launchday: an intent per deposit, paid by the
buyer's app with the intent's client secret (`POST /api/v1/rehearsal-payments/{intent}
/pay`), then a webhook signed as Stripe signs them (launchday.payments.signature) sent
to launchday's webhook endpoint, at least once; refunds; its own records to reconcile
against. The records are the provider's, not launchday's: they live in a SQLite file
of their own (beside launchday's database, or in a scratch directory), shared by every
server process on the host. An intent's id and client secret are derived from the
order, so creating one writes nothing: only a payment or a refund does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from launchday.payments.signature import sign, verify
from launchday.services.ports.payments import (
    BadSignature,
    Intent,
    IntentStatus,
    ProviderRefused,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from launchday.store.rehearsal_records import RehearsalRecords

INTENT_PREFIX = "ri_"
REFUND_PREFIX = "rr_"


class RehearsalProvider:
    """The built-in provider (see the module). `deliver(event)` sends a signed webhook;
    the server sets it once it knows its own address."""

    name = "rehearsal"

    def __init__(self, records: Path, secret: bytes | None = None) -> None:
        self._records = RehearsalRecords(records)
        # Sends a signed webhook (body, signature header) to launchday; set by the server.
        self.deliver: Callable[[str, bytes, str], None] | None = None
        self.webhook_url: str | None = None  # where launchday takes them
        self.use_secret(secret or b"")

    def use_secret(self, secret: bytes) -> None:
        """Derive the client secrets' and the webhooks' keys from the server's secret
        (every process of one server signs and checks alike)."""
        self._key = hashlib.sha256(b"rehearsal-provider:" + secret).digest()
        self.webhook_secret = "whsec_" + hmac.new(self._key, b"webhook", "sha256").hexdigest()

    # --- what launchday asks of a provider ---------------------------------------------

    def _intent_id(self, order_id: str, amount: int, currency: str) -> str:
        return f"{INTENT_PREFIX}{order_id}_{amount}_{currency}"

    def client_secret(self, intent_id: str) -> str:
        digest = hmac.new(self._key, intent_id.encode(), "sha256").hexdigest()[:32]
        return f"{intent_id}_secret_{digest}"

    def _parse(self, intent_id: str) -> tuple[str, int, str]:
        try:
            order_id, amount, currency = intent_id.removeprefix(INTENT_PREFIX).rsplit("_", 2)
            if not intent_id.startswith(INTENT_PREFIX):
                raise ValueError(intent_id)
            return order_id, int(amount), currency
        except ValueError:
            raise ProviderRefused(f"no intent {intent_id!r}") from None

    def intent_at_once(self, order_id: str, amount: int, currency: str) -> Intent | None:
        """Derived from the order: made with it, nothing to ask."""
        return self._derived(order_id, amount, currency)

    async def create_intent(
        self, order_id: str, amount: int, currency: str, idempotency_key: str
    ) -> Intent:
        return self._derived(order_id, amount, currency)

    def _derived(self, order_id: str, amount: int, currency: str) -> Intent:
        intent_id = self._intent_id(order_id, amount, currency)
        return Intent(
            intent_id,
            IntentStatus.AWAITING,
            amount,
            currency,
            order_id,
            self.client_secret(intent_id),
        )

    async def intent(self, intent_id: str) -> Intent:
        order_id, amount, currency = self._parse(intent_id)
        recorded = await self._records.status(intent_id)
        status = IntentStatus(recorded) if recorded else IntentStatus.AWAITING
        return Intent(intent_id, status, amount, currency, order_id, self.client_secret(intent_id))

    async def cancel_intent(self, intent_id: str) -> Intent:
        order_id, amount, currency = self._parse(intent_id)
        await self._records.settle(intent_id, order_id, amount, currency, "canceled")
        return await self.intent(intent_id)

    async def pay(self, intent_id: str, client_secret: str, bank_debit: bool = False) -> Intent:
        """The buyer's app pays the intent: refused with a wrong secret or when the
        intent was withdrawn; paying twice is paying once. Sends the webhook. A bank
        debit is `processing` until the bank answers (`bank_answers`)."""
        order_id, amount, currency = self._parse(intent_id)
        if not hmac.compare_digest(client_secret, self.client_secret(intent_id)):
            raise ProviderRefused("the client secret does not match the intent")
        status = "processing" if bank_debit else "succeeded"
        await self._records.settle(intent_id, order_id, amount, currency, status)
        intent = await self.intent(intent_id)
        if intent.status.value == status:
            self._notify(f"payment_intent.{status}", "payment_intent", intent_id)
        return intent

    async def bank_answers(self, intent_id: str, paid: bool) -> Intent:
        """The bank's answer to a processing debit: paid, or refused (the intent awaits
        payment again, as Stripe's goes back to requiring a payment method)."""
        self._parse(intent_id)
        if await self._records.resolve(intent_id, "succeeded" if paid else None):
            kind = "succeeded" if paid else "payment_failed"
            self._notify(f"payment_intent.{kind}", "payment_intent", intent_id)
        return await self.intent(intent_id)

    async def refund(
        self, intent_id: str, amount: int, order_id: str, idempotency_key: str
    ) -> Refund:
        intent = await self.intent(intent_id)
        if intent.status is not IntentStatus.SUCCEEDED:
            raise ProviderRefused(f"intent {intent_id!r} was not paid")
        refund_id = REFUND_PREFIX + intent_id.removeprefix(INTENT_PREFIX)
        row = (refund_id, intent_id, order_id, amount, intent.currency, "succeeded")
        await self._records.add_refund(row)
        self._notify("refund.updated", "refund", refund_id)
        return await self.refund_of(refund_id)

    async def refund_of(self, refund_id: str) -> Refund:
        row = await self._records.refund(refund_id)
        if row is None:
            raise ProviderRefused(f"no refund {refund_id!r}")
        _, intent_id, order_id, amount, currency, status = row
        return Refund(refund_id, intent_id, RefundStatus(status), amount, currency, order_id)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], now: float) -> WebhookEvent:
        verify(self.webhook_secret, body, headers.get("stripe-signature"), now)
        try:
            event = json.loads(body)
            obj = event["data"]["object"]
            kind = {"payment_intent": "intent", "refund": "refund"}.get(obj["object"], "other")
            return WebhookEvent(str(event["id"]), str(event["type"]), kind, str(obj["id"]))
        except (ValueError, KeyError, TypeError):
            raise BadSignature("a signed body that is not an event") from None

    async def intents(self) -> list[Intent]:
        return [await self.intent(intent_id) for intent_id in await self._records.intent_ids()]

    async def refunds(self) -> list[Refund]:
        return [await self.refund_of(refund_id) for refund_id in await self._records.refund_ids()]

    # --- the webhooks ------------------------------------------------------------------

    def _notify(self, type: str, object_name: str, object_id: str) -> None:
        """Send the event signed, as Stripe does: an id of its own, the object by id."""
        if self.deliver is None or self.webhook_url is None:
            return
        now = int(time.time())
        event_id = "evt_" + hashlib.sha256(f"{type}:{object_id}".encode()).hexdigest()[:24]
        body = json.dumps(
            {
                "id": event_id,
                "type": type,
                "created": now,
                "data": {"object": {"object": object_name, "id": object_id}},
            }
        ).encode()
        self.deliver(self.webhook_url, body, sign(self.webhook_secret, body, now))
