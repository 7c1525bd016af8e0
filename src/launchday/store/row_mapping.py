"""Stored rows to domain objects, shared by the SQL stores (their tables have the same
columns: times in integer microseconds, flags as 0/1)."""

from __future__ import annotations

from typing import Any

from launchday.domain.clock import from_micros
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import Channel, Order, Profile

ORDER_COLUMNS = (
    "o.seq, o.id, l.slug, o.sku, o.customer, o.status, o.deposit_amount, o.placed_at_us,"
    " o.refundable_until_us, o.locked_at_us, o.cancelled_at_us, o.refund_amount,"
    " o.first_car_with_brand, o.new_to_brand, o.phone, o.region,"
    " o.channel, o.store_id, o.staff, o.delivery_centre"
)
ORDER_WIDTH = 20  # how many columns ORDER_COLUMNS names
ORDER_SELECT = f"SELECT {ORDER_COLUMNS} FROM orders o JOIN launches l ON l.id = o.launch_id"


def to_flag(value: bool | None) -> int | None:
    """A yes/no/unknown answer as stored: 1, 0 or NULL."""
    return None if value is None else int(value)


def from_flag(value: int | None) -> bool | None:
    """A stored 1, 0 or NULL as the answer it stands for."""
    return None if value is None else bool(value)


def profile_columns(
    profile: Profile | None,
) -> tuple[int | None, int | None, str | None, str | None]:
    """A buyer profile as its four stored columns (all NULL for no profile)."""
    p = profile or Profile()
    return to_flag(p.first_car_with_brand), to_flag(p.new_to_brand), p.phone, p.region


def order_from_row(row: tuple[Any, ...] | Any) -> Order:
    """An order from the `ORDER_COLUMNS` of a row."""
    profile = None
    if any(value is not None for value in row[12:16]):
        profile = Profile(from_flag(row[12]), from_flag(row[13]), row[14], row[15])
    return Order(
        sequence=row[0],
        id=row[1],
        launch=row[2],
        sku=row[3],
        customer=row[4],
        status=OrderStatus(row[5]),
        deposit_amount=row[6],
        placed_at=from_micros(row[7]),
        refundable_until=from_micros(row[8]),
        locked_at=from_micros(row[9]) if row[9] is not None else None,
        cancelled_at=from_micros(row[10]) if row[10] is not None else None,
        refund_amount=row[11],
        profile=profile,
        channel=Channel(row[16]),
        store=row[17],
        staff=row[18],
        delivery_centre=row[19],
    )
