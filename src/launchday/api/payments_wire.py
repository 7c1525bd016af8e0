"""Wire types of deposits paid through a payment provider: a launch's payment settings,
an order's payment as its buyer's app reads it, and the ledger's balances."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Provider = Literal["stripe", "rehearsal"]


class PaymentsSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Deposits paid through a payment provider (docs/payments.md): orders are placed
    `pending_payment` and hold their unit for `hold_minutes` of launch time while the
    buyer pays; the provider must be configured on the server (`stripe` needs
    LAUNCHDAY_STRIPE_KEY and LAUNCHDAY_STRIPE_WEBHOOK_SECRET; `rehearsal` is built in)."""

    provider: Provider
    hold_minutes: Annotated[float, Meta(gt=0, le=10_080)] = 15


class PaymentOut(msgspec.Struct, frozen=True):
    """The deposit's payment: what the buyer's app pays with (`client_secret`, for
    Stripe a PaymentIntent's), and until when the order holds its unit unpaid. Amounts
    in the currency's minor unit, as the provider counts them."""

    provider: str
    status: Literal["awaiting", "processing", "succeeded", "canceled"]
    amount_minor: int
    currency: str
    hold_until: str
    intent_id: str | None = None
    client_secret: str | None = None
    paid_at: str | None = None
    refund: RefundOut | None = None


class RefundOut(msgspec.Struct, frozen=True):
    """The deposit sent back: `owed` until the provider takes it, then its status
    there; a failed refund is retried with backoff."""

    status: Literal["owed", "pending", "succeeded", "failed"]
    amount_minor: int
    attempts: int
    last_error: str | None = None


class LedgerOut(msgspec.Struct, frozen=True):
    """The launch's ledger as of `at` (launch time): each account's balance (debits
    minus credits, minor units), and every invariant it breaks (none when it holds)."""

    launch: str
    currency: str
    at: str
    balances: dict[str, int]
    expected: dict[str, int]
    discrepancies: list[str]
    holds: bool


class DifferenceOut(msgspec.Struct, frozen=True):
    """One order whose deposit the two sides record differently."""

    order: str
    kind: Literal[
        "paid_at_provider_only",
        "paid_here_only",
        "amount_differs",
        "refunded_twice",
        "refunded_at_provider_only",
        "refunded_here_only",
        "refund_differs",
    ]
    detail: str


class ReconciliationOut(msgspec.Struct, frozen=True):
    """The launch's deposits beside the provider's records of its orders: how many
    intents and refunds the provider holds for them, and every difference (none when
    `matches`)."""

    launch: str
    provider: str
    provider_intents: int
    provider_refunds: int
    differences: list[DifferenceOut]
    matches: bool


class LaunchRefundOut(msgspec.Struct, frozen=True):
    """A refund owed for an order: where it stands, its attempts, the last error, and
    when it is tried again (a failed one is retried with backoff)."""

    order: str
    status: Literal["owed", "pending", "succeeded", "failed"]
    amount_minor: int
    attempts: int
    next_attempt_at: str
    last_error: str | None = None
    provider_refund_id: str | None = None


class RefundList(msgspec.Struct, frozen=True):
    launch: str
    refunds: list[LaunchRefundOut]
