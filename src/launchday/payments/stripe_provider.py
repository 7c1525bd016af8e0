"""Stripe as launchday's payment provider, through Stripe's own client on httpx.

Every call is asynchronous end to end (`StripeClient`'s `*_async` methods on an
`httpx.AsyncClient`), so a slow Stripe holds no thread. The client's own retries are off:
a failure is reported as ProviderUnavailable and the caller retries with the same
idempotency key, which is what makes a retry safe.

Stripe's names stop here: intents and refunds come out as the port's values, amounts in
minor units and currencies in upper case.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import TypeVar

import stripe

from launchday.payments import signature
from launchday.services.ports.payments import (
    Intent,
    IntentStatus,
    ProviderRefused,
    ProviderUnavailable,
    Refund,
    RefundStatus,
    WebhookEvent,
)

T = TypeVar("T")
Item = TypeVar("Item", bound=stripe.StripeObject)

SIGNATURE_HEADER = "stripe-signature"
_PAGE_SIZE = 100

_INTENT_STATUS: Mapping[str, IntentStatus] = {
    "requires_payment_method": IntentStatus.AWAITING,
    "requires_confirmation": IntentStatus.AWAITING,
    "requires_action": IntentStatus.AWAITING,
    "processing": IntentStatus.PROCESSING,
    # Not expected (intents are created with automatic capture); if one is found, the
    # buyer has paid and the money is not taken yet, which is what PROCESSING says.
    "requires_capture": IntentStatus.PROCESSING,
    "succeeded": IntentStatus.SUCCEEDED,
    "canceled": IntentStatus.CANCELED,
}

_REFUND_STATUS: Mapping[str, RefundStatus] = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}

# What a webhook's object is, in the port's words.
_OBJECT_KINDS: Mapping[str, str] = {"payment_intent": "intent", "refund": "refund"}


class _HTTPXClient(stripe.HTTPXClient):
    """Stripe's httpx client, handing httpx the body Stripe has already form-encoded as
    `content`: passed as `data`, httpx warns (DeprecationWarning) on every request."""

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: object
    ) -> tuple[object, dict[str, object]]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, None)
        kwargs.pop("data", None)
        if post_data:
            kwargs["content"] = post_data
        return args, kwargs


def _unavailable(error: stripe.StripeError) -> bool:
    """Whether a retry with the same idempotency key may succeed: no answer or one that
    cannot be read, a server error, rate limiting, or 409 (the same key's first request
    is still running). Any other 4xx is Stripe's final word."""
    status = error.http_status
    if isinstance(error, stripe.APIConnectionError) or status is None:
        return True
    return not 400 <= status < 500 or status in (409, 429)


async def _call(request: Awaitable[T]) -> T:
    try:
        return await request
    except stripe.StripeError as error:
        if _unavailable(error):
            raise ProviderUnavailable(str(error)) from error
        raise ProviderRefused(str(error)) from error


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _field(obj: object, name: str) -> object:
    """A field of a Stripe object (which is no dict) or of parsed JSON; None if absent."""
    if isinstance(obj, stripe.StripeObject):
        obj = obj.to_dict(recursive=False)
    if isinstance(obj, Mapping):
        return obj.get(name)
    return None


def _id_of(value: object) -> str | None:
    """The id of a field Stripe may send as an id or expanded into its object."""
    return value if isinstance(value, str) else _text(_field(value, "id"))


def _order_id(metadata: object) -> str | None:
    return _text(_field(metadata, "order_id"))


def _intent(payment_intent: stripe.PaymentIntent) -> Intent:
    status = _INTENT_STATUS.get(payment_intent.status)
    if status is None:
        raise ProviderRefused(f"intent {payment_intent.id}: unknown status")
    return Intent(
        id=payment_intent.id,
        status=status,
        amount=int(payment_intent.amount),
        currency=payment_intent.currency.upper(),
        order_id=_order_id(payment_intent.metadata),
        client_secret=payment_intent.client_secret or "",
    )


def _refund(refund: stripe.Refund) -> Refund:
    status = _REFUND_STATUS.get(refund.status or "")
    # A refund names its charge too; only a charge made without an intent (never one of
    # launchday's) has no intent to name, and its charge stands in for one.
    intent_id = _id_of(refund.payment_intent) or _id_of(refund.charge)
    if status is None or intent_id is None:
        raise ProviderRefused(f"refund {refund.id}: unknown status or no intent")
    return Refund(
        id=refund.id,
        intent_id=intent_id,
        status=status,
        amount=int(refund.amount),
        currency=refund.currency.upper(),
        order_id=_order_id(refund.metadata),
    )


def _event(body: bytes) -> WebhookEvent:
    """The event in a body whose signature is good; ProviderRefused if it is not one."""
    try:
        event: object = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProviderRefused("the webhook's body is not JSON") from error
    obj = _field(_field(event, "data"), "object")
    event_id, event_type = _text(_field(event, "id")), _text(_field(event, "type"))
    name, object_id = _text(_field(obj, "object")), _text(_field(obj, "id"))
    if event_id is None or event_type is None or name is None or object_id is None:
        raise ProviderRefused("the body is not a Stripe event")
    kind = _OBJECT_KINDS.get(name, name)
    # A charge's events are about the payment of its intent, which launchday reads again.
    intent_id = _id_of(_field(obj, "payment_intent")) if name == "charge" else None
    if intent_id is not None:
        kind, object_id = "intent", intent_id
    return WebhookEvent(id=event_id, type=event_type, object_kind=kind, object_id=object_id)


class StripeProvider:
    """The PaymentProvider port on Stripe's API (or localstripe's, through `api_base`)."""

    name = "stripe"

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        timeout: float = 10,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._http = _HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=self._http,
        )

    async def aclose(self) -> None:
        """Close the connections kept open to Stripe."""
        await self._http.close_async()  # type: ignore[no-untyped-call]  # unannotated upstream

    def intent_at_once(self, order_id: str, amount: int, currency: str) -> Intent | None:
        """Stripe makes its intents: none without asking it."""
        return None

    async def create_intent(
        self, order_id: str, amount: int, currency: str, idempotency_key: str
    ) -> Intent:
        created = await _call(
            self._client.v1.payment_intents.create_async(
                {
                    "amount": amount,
                    "currency": currency.lower(),
                    "capture_method": "automatic",
                    "metadata": {"order_id": order_id},
                },
                {"idempotency_key": idempotency_key},
            )
        )
        return _intent(created)

    async def intent(self, intent_id: str) -> Intent:
        return _intent(await _call(self._client.v1.payment_intents.retrieve_async(intent_id)))

    async def cancel_intent(self, intent_id: str) -> Intent:
        try:
            canceled = await _call(self._client.v1.payment_intents.cancel_async(intent_id))
        except ProviderRefused:
            # Stripe refuses to cancel an intent that is paid, processing or canceled
            # already: that intent, as it now is, is the answer.
            current = await self.intent(intent_id)
            if current.status is IntentStatus.AWAITING:
                raise
            return current
        return _intent(canceled)

    async def refund(
        self, intent_id: str, amount: int, order_id: str, idempotency_key: str
    ) -> Refund:
        created = await _call(
            self._client.v1.refunds.create_async(
                {
                    "payment_intent": intent_id,
                    "amount": amount,
                    "metadata": {"order_id": order_id},
                },
                {"idempotency_key": idempotency_key},
            )
        )
        return _refund(created)

    async def refund_of(self, refund_id: str) -> Refund:
        return _refund(await _call(self._client.v1.refunds.retrieve_async(refund_id)))

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], now: float) -> WebhookEvent:
        signature.verify(self._webhook_secret, body, headers.get(SIGNATURE_HEADER), now)
        return _event(body)

    async def intents(self) -> list[Intent]:
        first = await _call(self._client.v1.payment_intents.list_async({"limit": _PAGE_SIZE}))
        return [_intent(item) async for item in _pages(first)]

    async def refunds(self) -> list[Refund]:
        first = await _call(self._client.v1.refunds.list_async({"limit": _PAGE_SIZE}))
        return [_refund(item) async for item in _pages(first)]


async def _pages(first: stripe.ListObject[Item]) -> AsyncIterator[Item]:
    """Every item of a list, page after page, with the next pages' errors translated."""
    pages = first.auto_paging_iter()
    while True:
        try:
            item = await _call(pages.__anext__())
        except StopAsyncIteration:
            return
        yield item
