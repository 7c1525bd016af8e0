"""Payments over HTTP: the providers' webhooks, the built-in rehearsal provider's pay
endpoint (what a buyer's app calls there), and a launch's ledger."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qs

import msgspec

from launchday.api.context import ApiContext
from launchday.api.payments_wire import (
    DifferenceOut,
    LaunchRefundOut,
    LedgerOut,
    ReconciliationOut,
    RefundList,
)
from launchday.domain.clock import rfc3339
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import QueryParam, Request, Response, Route, json_response
from launchday.payments.rehearsal import RehearsalProvider
from launchday.services.ports.payments import BadSignature, ProviderRefused

_encode = msgspec.json.Encoder().encode


class WebhookAnswer(msgspec.Struct, frozen=True):
    """What the webhook did: paid, processing, duplicate, ignored..."""

    result: str


class ProviderEvent(msgspec.Struct, frozen=True):
    """A provider's event as it sends it (Stripe's shape; more fields are allowed): read
    only once its `Stripe-Signature` header is verified over the raw body."""

    id: str
    type: str
    data: dict[str, Any]


class RehearsalPay(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The body of a rehearsal payment: the intent's client secret, as a buyer's app
    would hand it to a real provider."""

    client_secret: str
    # A bank debit stays `processing` until the bank answers (`.../bank`).
    method: Literal["card", "bank_debit"] = "card"


class BankAnswer(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The bank's answer to a rehearsal's processing debit."""

    paid: bool


class RehearsalPaid(msgspec.Struct, frozen=True):
    intent: str
    status: str


def routes(ctx: ApiContext) -> list[Route]:
    payments = ctx.services.payments

    async def webhook(request: Request) -> Response:
        try:
            result = await payments.webhook(
                request.params["provider"], request.body, request.headers
            )
        except BadSignature as error:
            raise HttpError("invalid_signature", str(error), "Stripe-Signature") from error
        return json_response(200, _encode(WebhookAnswer(result)))

    async def rehearsal_pay(request: Request) -> Response:
        provider = payments.providers.get("rehearsal")
        if not isinstance(provider, RehearsalProvider):
            raise HttpError("not_found", "the rehearsal provider is not configured")
        body = decode(request.body, RehearsalPay)
        host = request.headers.get("host", "127.0.0.1")
        provider.webhook_url = f"http://{host}/api/v1/payments/rehearsal/webhook"
        try:
            intent = await provider.pay(
                request.params["intent"], body.client_secret, body.method == "bank_debit"
            )
        except ProviderRefused as error:
            raise HttpError("forbidden", str(error), "client_secret") from error
        return json_response(200, _encode(RehearsalPaid(intent.id, intent.status.value)))

    async def rehearsal_bank(request: Request) -> Response:
        provider = payments.providers.get("rehearsal")
        if not isinstance(provider, RehearsalProvider):
            raise HttpError("not_found", "the rehearsal provider is not configured")
        body = decode(request.body, BankAnswer)
        try:
            intent = await provider.bank_answers(request.params["intent"], body.paid)
        except ProviderRefused as error:
            raise HttpError("not_found", str(error), "intent") from error
        return json_response(200, _encode(RehearsalPaid(intent.id, intent.status.value)))

    async def refunds(request: Request) -> Response:
        slug = request.params["slug"]
        ctx.services.launches.get(slug)
        status = parse_qs(request.query).get("status", [None])[-1]
        if status is not None and status not in ("owed", "pending", "succeeded", "failed"):
            raise HttpError("validation", "status is owed, pending, succeeded or failed", "status")
        found = payments.store.reads.refunds_of(slug, status, 1000)
        out = RefundList(
            slug,
            [
                LaunchRefundOut(
                    order=r.order_id,
                    status=r.status,  # type: ignore[arg-type]
                    amount_minor=r.amount_minor,
                    attempts=r.attempts,
                    next_attempt_at=rfc3339(r.next_attempt_at),
                    last_error=r.last_error,
                    provider_refund_id=r.provider_refund_id,
                )
                for r in found
            ],
        )
        return json_response(200, _encode(out))

    async def ledger(request: Request) -> Response:
        slug = request.params["slug"]
        at, balance, expected, broken = payments.ledger(slug)
        out = LedgerOut(
            launch=slug,
            currency=ctx.services.launches.get(slug).currency,
            at=rfc3339(at),
            balances=balance,
            expected={
                "deposits_held": expected.held,
                "deposits_locked": expected.locked,
                "refunds_payable": expected.refunds_owed,
                "refunded": expected.refunded,
                "provider_clearing": expected.paid,
            },
            discrepancies=broken,
            holds=not broken,
        )
        return json_response(200, _encode(out))

    async def reconciliation(request: Request) -> Response:
        slug = request.params["slug"]
        launch = ctx.services.launches.get(slug)
        intents, refunds, found = await payments.reconcile(slug)
        out = ReconciliationOut(
            launch=slug,
            provider=launch.payments.provider if launch.payments else "",
            provider_intents=intents,
            provider_refunds=refunds,
            differences=[DifferenceOut(d.order_id, d.kind, d.detail) for d in found],  # type: ignore[arg-type]
            matches=not found,
        )
        return json_response(200, _encode(out))

    return [
        Route(
            method="GET",
            path="/api/v1/launches/{slug}/reconciliation",
            handler=reconciliation,
            name="launch_reconciliation",
            auth=("admin", "analyst"),
            summary="The launch's deposits beside the payment provider's own records",
            response=ReconciliationOut,
            errors=(
                "unauthenticated",
                "forbidden",
                "not_found",
                "validation",
                "payments_unavailable",
            ),
        ),
        Route(
            method="POST",
            path="/api/v1/payments/{provider}/webhook",
            handler=webhook,
            name="payment_webhook",
            auth="anyone",
            body=ProviderEvent,
            summary="A payment provider's webhook: verified by its signature, its object"
            " read again from the provider, its effect taken once",
            response=WebhookAnswer,
            errors=("invalid_signature", "not_found", "unavailable", "overloaded"),
            headers=(),
        ),
        Route(
            method="POST",
            path="/api/v1/rehearsal-payments/{intent}/pay",
            handler=rehearsal_pay,
            name="rehearsal_pay",
            auth="anyone",
            summary="Pay a deposit at the built-in rehearsal provider with its client"
            " secret (what a buyer's app does at a real provider)",
            body=RehearsalPay,
            response=RehearsalPaid,
            errors=("invalid_body", "validation", "forbidden", "not_found"),
        ),
        Route(
            method="POST",
            path="/api/v1/rehearsal-payments/{intent}/bank",
            handler=rehearsal_bank,
            name="rehearsal_bank_answer",
            auth=("admin",),
            summary="The bank's answer to a rehearsal's processing bank debit (admin)",
            body=BankAnswer,
            response=RehearsalPaid,
            errors=("invalid_body", "validation", "unauthenticated", "forbidden", "not_found"),
        ),
        Route(
            method="GET",
            path="/api/v1/launches/{slug}/refunds",
            handler=refunds,
            name="launch_refunds",
            auth=("admin", "analyst", "support"),
            summary="The launch's refunds and where each stands (failed ones are retried)",
            response=RefundList,
            query=(
                QueryParam(
                    "status",
                    False,
                    "Only the refunds standing so",
                    {"enum": ["owed", "pending", "succeeded", "failed"]},
                ),
            ),
            errors=("unauthenticated", "forbidden", "not_found", "validation"),
        ),
        Route(
            method="GET",
            path="/api/v1/launches/{slug}/ledger",
            handler=ledger,
            name="launch_ledger",
            auth=("admin", "analyst"),
            summary="The deposits' double-entry ledger: balances and its invariants",
            response=LedgerOut,
            errors=("unauthenticated", "forbidden", "not_found"),
        ),
    ]
