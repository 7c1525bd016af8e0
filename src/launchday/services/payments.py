"""Deposits paid through a payment provider: the intent a new order is paid with, the
provider's webhooks, the end of holds, refunds, and the ledger.

Where the intent is made, and why: after the order's commit, not before. The order book
decides an order's place by its own clock, whatever the provider's latency; a refused
order (sold out, over the limit) never creates an intent; and a provider that is slow
or down does not stop the intake: the order is kept `pending_payment` holding its unit,
the buyer is answered 503 with `Retry-After`, and the retry (same Idempotency-Key)
replays the order and asks the provider again under the same idempotency key
(`deposit-<order id>`), so the provider makes one intent, never two charges.

Every effect of the provider's word is written in one transaction with the ledger's
transfers it causes and the event that told it (deduplicated by the provider's event
id). Before acting on a webhook the object is read again from the provider: a webhook
says only that something changed, the provider says what (so a forged, stale or
reordered event cannot pay an order).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from launchday.domain.clock import to_micros
from launchday.domain.errors import NotFound, PaymentsUnavailable, ValidationFailed
from launchday.domain.launch import Launch
from launchday.domain.ledger import Expected, TransferKind, balances, discrepancies
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.money import to_minor
from launchday.domain.order import Order
from launchday.domain.payment import (
    HoldOutcome,
    Payment,
    PaymentStatus,
    at_end_of_hold,
    extended,
    hold_until,
    paid,
    refund_on_payment,
)
from launchday.domain.reconciliation import Difference, Side, reconcile
from launchday.services.launches import Launches
from launchday.services.ports.payment_records import PAYMENTS, RefundRecord
from launchday.services.ports.payments import (
    Intent,
    IntentStatus,
    PaymentProvider,
    ProviderRefused,
    ProviderUnavailable,
    RefundStatus,
    WebhookEvent,
)
from launchday.services.ports.store import WriteScope, WriteTx

log = logging.getLogger("launchday.payments")

RETRY_AFTER_SECONDS = 5
SWEEP_BATCH = 200
# A failed refund is tried again after 2, 4, 8 ... seconds, at most every 10 minutes.
REFUND_BACKOFF_CAP = 600

_STATUS_OF_INTENT = {
    IntentStatus.AWAITING: PaymentStatus.AWAITING,
    IntentStatus.PROCESSING: PaymentStatus.PROCESSING,
    IntentStatus.SUCCEEDED: PaymentStatus.SUCCEEDED,
    IntentStatus.CANCELED: PaymentStatus.CANCELED,
}


class Payments:
    """The deposits of every launch of one store, through the providers configured."""

    def __init__(self, launches: Launches, providers: Mapping[str, PaymentProvider]) -> None:
        self.launches = launches
        self.store = launches.store
        self.clock: Callable[[], datetime] = launches.clock
        self.providers = dict(providers)

    async def aclose(self) -> None:
        """Close the providers' connections (those that keep any)."""
        for provider in self.providers.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    def new_payment(self, launch: Launch, order: Order) -> Payment:
        """The payment a new order of a launch with payments starts with (in the write
        that places it), with its intent when the provider makes one without asking."""
        assert launch.payments is not None
        amount = to_minor(order.deposit_amount, launch.currency)
        intent = self._provider(launch.payments.provider).intent_at_once(
            order.id, amount, launch.currency
        )
        return Payment(
            order_id=order.id,
            provider=launch.payments.provider,
            status=PaymentStatus.AWAITING,
            amount_minor=amount,
            currency=launch.currency,
            hold_until=hold_until(launch, order.placed_at),
            intent_id=None if intent is None else intent.id,
            client_secret=None if intent is None else intent.client_secret,
        )

    def check_launch(self, launch: Launch) -> None:
        """Refuse a launch whose payment provider this server does not have."""
        if launch.payments is not None and launch.payments.provider not in self.providers:
            raise ValidationFailed(
                f"payment provider {launch.payments.provider!r} is not configured on this server",
                field="payments.provider",
            )

    def _provider(self, name: str) -> PaymentProvider:
        provider = self.providers.get(name)
        if provider is None:
            raise NotFound(f"no payment provider {name!r}", field="provider")
        return provider

    # --- paying ------------------------------------------------------------------------

    async def prepare(self, order: Order) -> Payment | None:
        """The order's payment with what the buyer's app pays with, made at the provider
        if it was not (see the module); None for a launch without payments."""
        payment = self.store.reads.payment_of(order.id)
        if payment is None or payment.intent_id is not None:
            return payment
        provider = self._provider(payment.provider)
        try:
            intent = await provider.create_intent(
                order.id, payment.amount_minor, payment.currency, f"deposit-{order.id}"
            )
        except ProviderUnavailable as error:
            raise PaymentsUnavailable(
                f"the payment provider did not answer ({error}); retry with the same"
                " Idempotency-Key: the order holds its unit meanwhile",
                RETRY_AFTER_SECONDS,
            ) from error
        launch = self.launches.get(order.launch)

        def keep(tx: WriteTx, now: datetime) -> Payment:
            stored = tx.payment(order) or payment
            if stored.intent_id is not None:
                return stored
            made = replace(stored, intent_id=intent.id, client_secret=intent.client_secret)
            tx.set_payment(order, made)
            return made

        return await self.store.write(keep, WriteScope(launch.slug, (PAYMENTS,)))

    async def webhook(self, provider_name: str, body: bytes, headers: Mapping[str, str]) -> str:
        """Take a provider's webhook: verified (BadSignature otherwise), its object read
        again from the provider, its effect written once. What it did, in a word."""
        provider = self._provider(provider_name)
        event = provider.verify_webhook(body, headers, time.time())
        if event.object_kind == "intent":
            intent = await provider.intent(event.object_id)
            return await self._settle(intent, event)
        if event.object_kind == "refund":
            return await self._refund_event(provider, event)
        return "ignored"

    async def _refund_event(self, provider: PaymentProvider, event: WebhookEvent) -> str:
        """A refund's webhook. It may come before its payment's (webhooks arrive in any
        order): the payment is then settled first, from the provider's record of it. A
        refund launchday did not send (made in the provider's own console) changes no
        order here; the reconciliation names it."""
        refund = await provider.refund_of(event.object_id)
        intent = await provider.intent(refund.intent_id)
        order_id = refund.order_id or intent.order_id or self.store.reads.order_of_intent(intent.id)
        if order_id is None:
            return "ignored"
        record = self.store.reads.refund_of(order_id)
        if record is None:
            payment = self.store.reads.payment_of(order_id)
            if payment is not None and payment.status is not PaymentStatus.SUCCEEDED:
                await self._settle(intent, None)
            return "not sent by launchday"
        return await self._refund_answered(record, refund.id, refund.status, event)

    async def _settle(self, intent: Intent, event: WebhookEvent | None) -> str:
        """Write what the provider says of an intent: paid, processing or withdrawn."""
        order_id = intent.order_id or self.store.reads.order_of_intent(intent.id)
        known = self.store.reads.order(order_id) if order_id else None
        if known is None:
            return "ignored"
        launch = self.launches.get(known.launch)
        status = _STATUS_OF_INTENT[intent.status]

        def settle(tx: WriteTx, now: datetime) -> str:
            at = launch.clock(now)
            if not _first_time(tx, launch, event, now):
                return "duplicate"
            order = tx.order(known.id)
            payment = tx.payment(order) if order is not None else None
            if order is None or payment is None:
                return "ignored"
            if payment.status is PaymentStatus.SUCCEEDED:
                return "already paid"
            if status is PaymentStatus.SUCCEEDED:
                return _record_payment(tx, launch, order, payment, intent, at)
            if status is PaymentStatus.PROCESSING and order.status is OrderStatus.PENDING_PAYMENT:
                tx.set_payment(order, extended(payment, launch, at))
                return "processing"
            tx.set_payment(order, replace(payment, status=status))
            return status.value

        return await self.store.write(settle, WriteScope(launch.slug, (PAYMENTS,)))

    async def before_cancel(self, order: Order) -> None:
        """An unpaid order about to be cancelled: its intent withdrawn at the provider
        first, so that it cannot be paid after; if it was paid meanwhile, the payment is
        recorded (and the cancellation then refunds it)."""
        if order.status is not OrderStatus.PENDING_PAYMENT:
            return
        payment = self.store.reads.payment_of(order.id)
        if payment is None or payment.intent_id is None:
            return
        provider = self._provider(payment.provider)
        try:
            intent = await provider.cancel_intent(payment.intent_id)
        except ProviderUnavailable as error:
            raise PaymentsUnavailable(
                f"the payment provider did not answer ({error}); retry shortly",
                RETRY_AFTER_SECONDS,
            ) from error
        if intent.status is IntentStatus.SUCCEEDED:
            await self._settle(intent, None)

    # --- the end of holds --------------------------------------------------------------

    async def end_holds(self, slug: str) -> dict[str, int]:
        """Every hold of the launch that has ended: asked of the provider first, then
        paid, extended or expired (and withdrawn at the provider). Counts by outcome."""
        launch = self.launches.get(slug)
        if launch.payments is None:
            return {}
        provider = self._provider(launch.payments.provider)
        at = launch.clock(self.clock())
        counts: dict[str, int] = {}
        for order, payment in self.store.reads.due_holds(slug, at, SWEEP_BATCH):
            outcome = await self._end_hold(launch, provider, order, payment)
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    async def _end_hold(
        self, launch: Launch, provider: PaymentProvider, order: Order, payment: Payment
    ) -> str:
        intent = None
        if payment.intent_id is not None:
            intent = await provider.intent(payment.intent_id)
            if at_end_of_hold(_STATUS_OF_INTENT[intent.status]) is HoldOutcome.EXPIRE:
                # Withdrawn first: once the provider has it canceled, it cannot be paid
                # after the order expired (if it was paid meanwhile, it comes back paid).
                intent = await provider.cancel_intent(payment.intent_id)
        status = PaymentStatus.AWAITING if intent is None else _STATUS_OF_INTENT[intent.status]
        if at_end_of_hold(status) is HoldOutcome.PAY and intent is not None:
            return await self._settle(intent, None)

        def end(tx: WriteTx, now: datetime) -> str:
            at = launch.clock(now)
            current = tx.order(order.id)
            stored = tx.payment(order)
            if current is None or stored is None:
                return "ignored"
            if current.status is not OrderStatus.PENDING_PAYMENT or stored.hold_until > at:
                return "unchanged"
            if at_end_of_hold(status) is HoldOutcome.EXTEND:
                tx.set_payment(current, extended(stored, launch, at))
                return "extended"
            expired = tx.expire_order(current, at)
            tx.set_payment(current, replace(stored, status=PaymentStatus.CANCELED))
            tx.record_event(expired, OrderStatus.EXPIRED, at, "payment", "not paid in time")
            return "expired"

        return await self.store.write(end, WriteScope(launch.slug, (PAYMENTS,)))

    # --- refunds -------------------------------------------------------------------------

    async def send_refunds(self, slug: str) -> dict[str, int]:
        """Send every refund of the launch that is owed or due again; counts by outcome."""
        launch = self.launches.get(slug)
        if launch.payments is None:
            return {}
        provider = self._provider(launch.payments.provider)
        at = launch.clock(self.clock())
        counts: dict[str, int] = {}
        due = self.store.reads.due_refunds({slug: to_micros(at)}, SWEEP_BATCH)
        for record in due:
            payment = self.store.reads.payment_of(record.order_id)
            if payment is None or payment.intent_id is None:
                continue
            try:
                refund = await provider.refund(
                    payment.intent_id,
                    record.amount_minor,
                    record.order_id,
                    f"refund-{record.order_id}",
                )
            except (ProviderUnavailable, ProviderRefused) as error:
                outcome = await self._refund_failed(launch, record, str(error))
            else:
                outcome = await self._refund_answered(record, refund.id, refund.status, None)
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    async def _refund_failed(self, launch: Launch, record: RefundRecord, error: str) -> str:
        def failed(tx: WriteTx, now: datetime) -> str:
            at = launch.clock(now)
            tx.set_refund(_failed(record, at, error), now)
            return "failed"

        return await self.store.write(failed, WriteScope(launch.slug, (PAYMENTS,)))

    async def _refund_answered(
        self,
        record: RefundRecord,
        refund_id: str,
        status: RefundStatus,
        event: WebhookEvent | None,
    ) -> str:
        launch = self.launches.get(record.launch)

        def answered(tx: WriteTx, now: datetime) -> str:
            at = launch.clock(now)
            if not _first_time(tx, launch, event, now):
                return "duplicate"
            order = tx.order(record.order_id)
            current = tx.refund(order) if order is not None else None
            if order is None or current is None or current.status == "succeeded":
                return "unchanged"
            if status is RefundStatus.FAILED:
                failed = _failed(current, at, "the provider failed the refund")
                tx.set_refund(replace(failed, provider_refund_id=refund_id), now)
                return "failed"
            tx.set_refund(replace(current, status=status.value, provider_refund_id=refund_id), now)
            if status is RefundStatus.SUCCEEDED:
                tx.add_transfer(order, TransferKind.REFUNDED, current.amount_minor, at)
            return status.value

        return await self.store.write(answered, WriteScope(launch.slug, (PAYMENTS,)))

    async def reconcile(self, slug: str) -> tuple[int, int, list[Difference]]:
        """The launch's deposits here beside the provider's records of them: how many
        intents and refunds the provider holds for the launch's orders, and every
        difference (launchday.domain.reconciliation)."""
        launch = self.launches.get(slug)
        if launch.payments is None:
            raise NotFound(f"launch {slug!r} takes no payments", field="slug")
        provider = self._provider(launch.payments.provider)
        recorded = self.store.reads.deposits_of(slug)
        try:
            intents = [i for i in await provider.intents() if i.order_id in recorded]
            refunds = [r for r in await provider.refunds() if r.order_id in recorded]
        except ProviderUnavailable as error:
            raise PaymentsUnavailable(f"the provider did not answer ({error})") from error
        ours = {
            order: Side(paid, () if refunded is None else (refunded,))
            for order, (paid, refunded) in recorded.items()
        }
        theirs: dict[str, Side] = {}
        for intent in intents:
            if intent.status is IntentStatus.SUCCEEDED and intent.order_id is not None:
                theirs[intent.order_id] = Side(intent.amount, ())
        for refund in refunds:
            if refund.status is RefundStatus.SUCCEEDED and refund.order_id is not None:
                side = theirs.get(refund.order_id, Side())
                theirs[refund.order_id] = Side(side.paid, (*side.refunds, refund.amount))
        return len(intents), len(refunds), reconcile(ours, theirs)

    # --- the ledger ----------------------------------------------------------------------

    def ledger(self, slug: str) -> tuple[datetime, dict[str, int], Expected, list[str]]:
        """The launch's balances now, what its orders say they must be, and every
        invariant broken (none when the ledger holds)."""
        launch = self.launches.get(slug)
        at = launch.clock(self.clock())
        figures = self.store.reads.ledger_figures(slug, at)
        balance = balances(figures.totals)
        expected = Expected(
            figures.held, figures.locked, figures.refunds_owed, figures.refunded, figures.paid
        )
        return (
            at,
            {a.value: v for a, v in balance.items()},
            expected,
            discrepancies(balance, expected),
        )

    async def run(self, every: float = 1.0) -> None:
        """End holds and send refunds for every launch with payments, every `every`
        seconds, until cancelled (each server process runs one; the writes check the
        state they change, so two processes at once do each thing once)."""
        while True:
            await asyncio.sleep(every)
            for slug in self.store.reads.launch_slugs():
                try:
                    if self.launches.get(slug).payments is None:
                        continue
                    await self.end_holds(slug)
                    await self.send_refunds(slug)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("payments of %s: will try again", slug)


def _record_payment(
    tx: WriteTx, launch: Launch, order: Order, payment: Payment, intent: Intent, at: datetime
) -> str:
    """A deposit the provider confirmed: the order paid (its window starts now) with the
    ledger's transfers, or, for an order that expired or was cancelled before the money
    came, the money owed back."""
    amount = payment.amount_minor
    tx.set_payment(
        order,
        replace(
            payment,
            status=PaymentStatus.SUCCEEDED,
            paid_at=at,
            intent_id=payment.intent_id or intent.id,
            client_secret=payment.client_secret or intent.client_secret,
        ),
    )
    tx.add_transfer(order, TransferKind.PAID, amount, at)
    outcome = paid(order, launch, at)
    if outcome is not None:
        changed = tx.pay_order(order, outcome.status, outcome.refundable_until)
        tx.record_event(changed, OrderStatus.RESERVED, at, "payment", "deposit paid")
        # The window's lock, scheduled for its end (launchday.domain.ledger).
        tx.add_transfer(order, TransferKind.LOCKED, amount, outcome.refundable_until)
        if outcome.status is OrderStatus.LOCKED:
            tx.record_event(changed, OrderStatus.LOCKED, at, "window", "no cooling-off window")
        return "paid"
    if refund_on_payment(order):
        tx.add_transfer(order, TransferKind.CANCELLED, amount, at)
        tx.owe_refund(order, amount, at)
        tx.record_event(order, order.status, at, "payment", "paid after it ended: refund owed")
        return "refund owed"
    return "already paid"


def _first_time(tx: WriteTx, launch: Launch, event: WebhookEvent | None, now: datetime) -> bool:
    """Record the provider's event as taken, in the transaction of its effect: False if
    it was taken before (a replay). Without an event (launchday asked itself): True."""
    if event is None:
        return True
    assert launch.payments is not None
    return tx.take_event(launch.payments.provider, event.id, event.type, now)


def _failed(record: RefundRecord, at: datetime, error: str) -> RefundRecord:
    """A refund that failed at launch time `at`: tried again after 2, 4, 8 ... seconds."""
    attempts = record.attempts + 1
    wait = timedelta(seconds=min(2**attempts, REFUND_BACKOFF_CAP))
    return replace(
        record,
        status="failed",
        attempts=attempts,
        next_attempt_at=at + wait,
        last_error=error[:500],
    )
