"""Quotas and limits: arithmetic over counts the store fetches.

A quota caps the live (reserved or locked) orders of the variants it covers. Each
limited variant has a quota of its own, its `stock`; a quota may cover several
variants (a production line, a battery supply, a test-drive fleet), as pretix's quotas
do, and an order of a variant must fit in every quota that covers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from launchday.domain.errors import LimitReached, SoldOut


@dataclass(frozen=True, slots=True)
class Quota:
    """At most `size` live orders, over the variants `skus` together."""

    id: str
    size: int
    skus: frozenset[str]

    def live(self, live_by_sku: Mapping[str, int]) -> int:
        """Live orders counted against this quota."""
        return sum(live_by_sku.get(sku, 0) for sku in self.skus)

    def left(self, live_by_sku: Mapping[str, int]) -> int:
        """Units this quota still has for new orders."""
        return max(self.size - self.live(live_by_sku), 0)


def available(stock: int | None, live: int) -> int | None:
    """Units left of a variant: stock minus live (reserved or locked) orders; None = unlimited."""
    if stock is None:
        return None
    return max(stock - live, 0)


def check_quotas(sku: str, quotas: Iterable[Quota], live_by_sku: Mapping[str, int]) -> None:
    """Raise SoldOut unless every quota covering `sku` has a unit left for one more order."""
    for quota in quotas:
        if sku in quota.skus and quota.left(live_by_sku) < 1:
            raise SoldOut(f"{sku} is sold out", field="sku")


def check_stock(sku: str, stock: int | None, live: int) -> None:
    """Raise SoldOut when a limited variant has no unit left for one more order."""
    if stock is not None:
        check_quotas(sku, (Quota(sku, stock, frozenset({sku})),), {sku: live})


def check_customer_limit(live_for_customer: int, per_customer_limit: int) -> None:
    """Raise LimitReached when the customer already holds the launch's limit of live orders."""
    if live_for_customer >= per_customer_limit:
        raise LimitReached(
            f"one customer may hold {per_customer_limit} live order(s) in this launch"
        )
