"""A launch's order book deciding on a new order: replay it, accept it, or refuse it.

The store reads what the decision needs in one go (`BookSnapshot`), inside the write
transaction that will hold the order; the decision is plain arithmetic over it, so the
rules live here in one place and no check waits on another read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from launchday.domain.errors import IdempotencyConflict
from launchday.domain.launch import Launch
from launchday.domain.order import NewOrder, Order, terms_for
from launchday.domain.quota import check_customer_limit, check_quotas


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """What a new order is checked against, as the order book holds it now."""

    # The customer's order under the same idempotency key, and its request's digest.
    earlier: tuple[Order, bytes] | None
    # How many live (reserved or locked) orders the customer holds in the launch.
    customer_live: int
    # Live orders of every variant that shares a quota with the one ordered.
    live_by_sku: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Replay:
    """The request was made before: here is the order it made."""

    order: Order


@dataclass(frozen=True, slots=True)
class Accept:
    """A new order, on these terms."""

    terms: NewOrder


def decide(
    launch: Launch, sku: str, digest: bytes, book: BookSnapshot, at: datetime
) -> Replay | Accept:
    """Replay the request's earlier order, or accept a new one at launch time `at`; raise
    the refusal otherwise (an idempotency key reused with another body, orders not open,
    the customer's limit reached, a quota sold out)."""
    if book.earlier is not None:
        order, earlier_digest = book.earlier
        if earlier_digest != digest:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different body", field="Idempotency-Key"
            )
        return Replay(order)
    launch.check_orders_open(at)
    check_customer_limit(book.customer_live, launch.per_customer_limit)
    check_quotas(sku, launch.quotas_of(sku), book.live_by_sku)
    return Accept(terms_for(launch, sku, at))
