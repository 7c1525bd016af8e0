"""A payment provider, as the deposits need one: take a deposit, give it back, say what
happened. Amounts are integers in the currency's minor unit (launchday.domain.money);
currencies are ISO 4217 codes in upper case.

Each adapter (Stripe's, the built-in rehearsal provider's) maps its own objects onto
these; nothing outside the adapter sees the provider's own names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class IntentStatus(StrEnum):
    """Where a deposit's payment stands at the provider."""

    AWAITING = "awaiting"  # created; the buyer has not paid (or a card was declined)
    PROCESSING = "processing"  # paid, the money not yet confirmed (a bank debit)
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"  # withdrawn: it can no longer be paid


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Intent:
    """A deposit's payment at the provider. `order_id` is what launchday put in its
    metadata when it created it; `client_secret` is what the buyer's app pays with."""

    id: str
    status: IntentStatus
    amount: int
    currency: str
    order_id: str | None
    client_secret: str


@dataclass(frozen=True, slots=True)
class Refund:
    """Money sent back for one intent."""

    id: str
    intent_id: str
    status: RefundStatus
    amount: int
    currency: str
    order_id: str | None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A provider's notification, once its signature is verified: its own id (to take
    effect once), its type as the provider names it, and the object it is about, which
    launchday reads again from the provider before acting on it."""

    id: str
    type: str
    object_kind: str  # "intent" or "refund"; anything else is acknowledged and ignored
    object_id: str


class ProviderUnavailable(Exception):
    """The provider did not answer in time or answered with a server error: the call
    may be retried (with the same idempotency key)."""


class ProviderRefused(Exception):
    """The provider refused the call for good (a bad request, an unknown object)."""


class BadSignature(Exception):
    """A webhook whose signature is missing, forged, or older than the tolerance."""


class PaymentProvider(Protocol):
    """What launchday asks of a payment provider. Every call that creates something
    carries an idempotency key, so a retry never charges or refunds twice."""

    name: str

    def intent_at_once(self, order_id: str, amount: int, currency: str) -> Intent | None:
        """The intent for a deposit when the provider's intents can be made without
        asking it (written with the order: no second write); None when it must be
        created at the provider, after the order's commit (`create_intent`)."""
        ...

    async def create_intent(
        self, order_id: str, amount: int, currency: str, idempotency_key: str
    ) -> Intent: ...

    async def intent(self, intent_id: str) -> Intent: ...

    async def cancel_intent(self, intent_id: str) -> Intent:
        """Withdraw an unpaid intent; one already paid or processing is returned as it
        is (the caller reads its status)."""
        ...

    async def refund(
        self, intent_id: str, amount: int, order_id: str, idempotency_key: str
    ) -> Refund: ...

    async def refund_of(self, refund_id: str) -> Refund: ...

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], now: float) -> WebhookEvent:
        """The event in `body` if its signature is good and at most the tolerance old at
        `now` (seconds since the epoch); BadSignature otherwise. `headers` are in lower
        case."""
        ...

    async def intents(self) -> list[Intent]:
        """Every intent the provider holds for this account (for reconciliation)."""
        ...

    async def refunds(self) -> list[Refund]:
        """Every refund the provider holds for this account (for reconciliation)."""
        ...
