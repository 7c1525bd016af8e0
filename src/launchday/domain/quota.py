"""Stock and per-customer limits as arithmetic over counts the store fetches."""

from __future__ import annotations

from launchday.domain.errors import LimitReached, SoldOut


def available(stock: int | None, live: int) -> int | None:
    """Units left of a variant: stock minus live (reserved or locked) orders; None = unlimited."""
    if stock is None:
        return None
    return max(stock - live, 0)


def check_stock(sku: str, stock: int | None, live: int) -> None:
    """Raise SoldOut when a limited variant has no unit left for one more order."""
    left = available(stock, live)
    if left is not None and left < 1:
        raise SoldOut(f"{sku} is sold out", field="sku")


def check_customer_limit(live_for_customer: int, per_customer_limit: int) -> None:
    """Raise LimitReached when the customer already holds the launch's limit of live orders."""
    if live_for_customer >= per_customer_limit:
        raise LimitReached(
            f"one customer may hold {per_customer_limit} live order(s) in this launch"
        )
