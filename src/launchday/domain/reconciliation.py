"""Reconciliation: launchday's records of a launch's deposits beside the provider's own,
order by order. Every difference is named: paid at the provider but not here (a webhook
lost, or an order that expired as the money came), paid here but not there, refunded
twice, refunded on one side only, amounts that differ."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Side:
    """One order's deposit as one side records it: paid (and how much), refunded (each
    refund's amount; a provider may hold several, launchday at most one)."""

    paid: int | None = None
    refunds: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Difference:
    order_id: str
    kind: str
    detail: str


def reconcile(ours: Mapping[str, Side], theirs: Mapping[str, Side]) -> list[Difference]:
    """Every difference between the two sides, by order id (only orders of `ours` and the
    provider's records of them: a provider account may serve other sales too)."""
    found: list[Difference] = []
    for order_id in sorted(ours):
        here, there = ours[order_id], theirs.get(order_id, Side())
        found += _paid(order_id, here, there)
        found += _refunded(order_id, here, there)
    return found


def _paid(order_id: str, here: Side, there: Side) -> Iterable[Difference]:
    if there.paid is not None and here.paid is None:
        yield Difference(order_id, "paid_at_provider_only", f"the provider took {there.paid}")
    elif here.paid is not None and there.paid is None:
        yield Difference(order_id, "paid_here_only", f"recorded paid {here.paid}")
    elif here.paid != there.paid:
        yield Difference(
            order_id, "amount_differs", f"paid {here.paid} here, {there.paid} at the provider"
        )


def _refunded(order_id: str, here: Side, there: Side) -> Iterable[Difference]:
    if len(there.refunds) > 1:
        yield Difference(
            order_id, "refunded_twice", f"the provider sent {len(there.refunds)} refunds"
        )
    if there.refunds and not here.refunds:
        yield Difference(
            order_id, "refunded_at_provider_only", f"the provider sent {sum(there.refunds)}"
        )
    elif here.refunds and not there.refunds:
        yield Difference(order_id, "refunded_here_only", f"recorded refunded {sum(here.refunds)}")
    elif sum(here.refunds) != sum(there.refunds):
        yield Difference(
            order_id,
            "refund_differs",
            f"refunded {sum(here.refunds)} here, {sum(there.refunds)} at the provider",
        )
