"""Quota arithmetic: units left of a variant, and the per-customer limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchday.domain.errors import LimitReached, SoldOut
from launchday.domain.quota import available, check_customer_limit, check_stock

STOCK = 5000
counts = st.integers(min_value=0, max_value=10**9)


@pytest.mark.parametrize(
    ("live", "left"), [(0, STOCK), (1, STOCK - 1), (STOCK - 1, 1), (STOCK, 0), (STOCK + 1, 0)]
)
def test_available_is_stock_less_live_orders_and_never_negative(live: int, left: int) -> None:
    assert available(STOCK, live) == left


@pytest.mark.parametrize("live", [0, 1, 10**9])
def test_a_build_to_order_variant_is_never_counted_down(live: int) -> None:
    assert available(None, live) is None
    check_stock("YU7-MAX", None, live)


def test_a_variant_of_zero_stock_has_nothing_to_sell() -> None:
    assert available(0, 0) == 0
    with pytest.raises(SoldOut):
        check_stock("YU7-LTD", 0, 0)


@pytest.mark.parametrize("live", [0, 1, STOCK - 1])
def test_a_limited_variant_sells_while_a_unit_is_left(live: int) -> None:
    check_stock("YU7-LTD", STOCK, live)


@pytest.mark.parametrize("live", [STOCK, STOCK + 1])
def test_a_limited_variant_is_sold_out_once_live_orders_reach_its_stock(live: int) -> None:
    with pytest.raises(SoldOut) as refused:
        check_stock("YU7-LTD", STOCK, live)
    assert refused.value.code == "sold_out"
    assert refused.value.field == "sku"
    assert "YU7-LTD" in refused.value.message


def test_a_one_unit_run_sells_exactly_once() -> None:
    check_stock("SU7-FOUNDERS", 1, 0)
    with pytest.raises(SoldOut):
        check_stock("SU7-FOUNDERS", 1, 1)


@given(stock=counts, live=counts)
def test_check_stock_refuses_exactly_when_nothing_is_available(stock: int, live: int) -> None:
    left = available(stock, live)
    assert left is not None
    assert left == max(stock - live, 0)
    if live >= stock:
        with pytest.raises(SoldOut):
            check_stock("SKU", stock, live)
    else:
        check_stock("SKU", stock, live)


@pytest.mark.parametrize(("live", "limit"), [(0, 1), (0, 3), (2, 3)])
def test_a_customer_under_the_limit_may_order(live: int, limit: int) -> None:
    check_customer_limit(live, limit)


@pytest.mark.parametrize(("live", "limit"), [(1, 1), (3, 3), (4, 3)])
def test_a_customer_at_the_limit_is_refused(live: int, limit: int) -> None:
    with pytest.raises(LimitReached) as refused:
        check_customer_limit(live, limit)
    assert refused.value.code == "limit_reached"
    assert str(limit) in refused.value.message


@given(
    live=st.integers(min_value=0, max_value=1000), limit=st.integers(min_value=1, max_value=1000)
)
def test_the_customer_limit_refuses_exactly_when_live_orders_reach_it(
    live: int, limit: int
) -> None:
    if live >= limit:
        with pytest.raises(LimitReached):
            check_customer_limit(live, limit)
    else:
        check_customer_limit(live, limit)
