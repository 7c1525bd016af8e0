"""A launch: its validation, deposit policy, order terms, opening and delivery estimate."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from launchday.domain.errors import NotFound, NotOpen, ValidationFailed
from launchday.domain.launch import DepositPolicy, Launch, Variant
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import Order, delivery_window, terms_for

OPENS_AT = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
STANDARD = DepositPolicy(amount=5000, refundable_hours=168)
MAX = Variant("YU7-MAX", "YU7 Max", 329900, lead_weeks=(39, 61))
LTD = Variant("YU7-LTD", "Launch edition", 399900, stock=5000, deposit=DepositPolicy(20000, 0))
PRO = Variant("YU7-PRO", "YU7 Pro", 279900, deposit=DepositPolicy(8000, 72))


def launch(**overrides: Any) -> Launch:
    values: dict[str, Any] = {
        "slug": "yu7-2025",
        "name": "Xiaomi YU7",
        "currency": "CNY",
        "opens_at": OPENS_AT,
        "deposit": STANDARD,
        "variants": (MAX, LTD, PRO),
        "interest_opens_at": OPENS_AT - timedelta(days=3),
    }
    values.update(overrides)
    return Launch(**values)


def refusal(**overrides: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        launch(**overrides)
    assert refused.value.code == "validation"
    return refused.value


# --- validation ----------------------------------------------------------------------


def test_a_well_formed_launch_is_accepted() -> None:
    made = launch()
    assert made.variant("YU7-LTD") is LTD
    assert LTD.limited
    assert not MAX.limited


def test_a_launch_without_variants_is_refused_on_variants() -> None:
    assert refusal(variants=()).field == "variants"


def test_a_sku_that_appears_twice_is_refused_on_its_second_occurrence() -> None:
    twin = replace(LTD, sku="YU7-MAX")
    failure = refusal(variants=(MAX, PRO, twin))
    assert failure.field == "variants[2].sku"
    assert "YU7-MAX" in failure.message


def test_lead_weeks_given_latest_first_are_refused_on_that_variant() -> None:
    reversed_lead = replace(PRO, lead_weeks=(61, 39))
    assert refusal(variants=(MAX, reversed_lead)).field == "variants[1].lead_weeks"


def test_lead_weeks_of_a_single_week_are_accepted() -> None:
    launch(variants=(replace(MAX, lead_weeks=(40, 40)),))


def test_a_naive_opening_time_is_refused_on_opens_at() -> None:
    naive = OPENS_AT.replace(tzinfo=None)
    assert refusal(opens_at=naive, interest_opens_at=None).field == "opens_at"


def test_a_naive_interest_opening_time_is_refused_on_interest_opens_at() -> None:
    naive = (OPENS_AT - timedelta(days=3)).replace(tzinfo=None)
    assert refusal(interest_opens_at=naive).field == "interest_opens_at"


def test_interest_opening_after_orders_open_is_refused_on_interest_opens_at() -> None:
    late = OPENS_AT + timedelta(microseconds=1)
    assert refusal(interest_opens_at=late).field == "interest_opens_at"


def test_interest_may_open_at_the_very_minute_orders_do() -> None:
    launch(interest_opens_at=OPENS_AT)
    launch(interest_opens_at=None)


@pytest.mark.parametrize("scale", [0, -1])
def test_a_clock_that_stands_still_or_runs_backwards_is_refused(scale: float) -> None:
    assert refusal(time_scale=scale).field == "time_scale"


def test_a_customer_limit_below_one_is_refused() -> None:
    assert refusal(per_customer_limit=0).field == "per_customer_limit"


def test_an_unknown_sku_is_not_found_on_sku() -> None:
    with pytest.raises(NotFound) as missing:
        launch().variant("YU7-GT")
    assert missing.value.field == "sku"


# --- deposits and order terms --------------------------------------------------------


def test_a_variant_without_its_own_deposit_takes_the_launchs() -> None:
    assert launch().deposit_for(MAX) == STANDARD


def test_a_variant_with_its_own_deposit_overrides_the_launchs() -> None:
    made = launch()
    assert made.deposit_for(LTD) == DepositPolicy(20000, 0)
    assert made.deposit_for(PRO).amount == 8000
    assert made.deposit_for(PRO).window == timedelta(hours=72)


def test_a_168_hour_window_gives_a_refundable_reservation_for_a_week() -> None:
    placed_at = OPENS_AT + timedelta(seconds=7)
    terms = terms_for(launch(), "YU7-MAX", placed_at)
    assert terms.status is OrderStatus.RESERVED
    assert terms.deposit_amount == 5000
    assert terms.placed_at == placed_at
    assert terms.refundable_until == placed_at + timedelta(hours=168)
    assert terms.refundable_until == placed_at + timedelta(days=7)


def test_a_zero_hour_window_locks_the_order_at_placement() -> None:
    placed_at = OPENS_AT + timedelta(seconds=1)
    terms = terms_for(launch(), "YU7-LTD", placed_at)
    assert terms.status is OrderStatus.LOCKED
    assert terms.deposit_amount == 20000
    assert terms.refundable_until == placed_at


def test_order_terms_use_the_variant_override_of_the_window() -> None:
    placed_at = OPENS_AT + timedelta(minutes=3)
    terms = terms_for(launch(), "YU7-PRO", placed_at)
    assert terms.status is OrderStatus.RESERVED
    assert terms.deposit_amount == 8000
    assert terms.refundable_until == placed_at + timedelta(hours=72)


def test_order_terms_for_an_unknown_sku_are_not_found() -> None:
    with pytest.raises(NotFound):
        terms_for(launch(), "YU7-GT", OPENS_AT)


# --- opening and the launch clock ----------------------------------------------------


def test_orders_open_at_the_opening_minute_and_not_a_microsecond_before() -> None:
    made = launch()
    made.check_orders_open(OPENS_AT)
    with pytest.raises(NotOpen) as refused:
        made.check_orders_open(OPENS_AT - timedelta(microseconds=1))
    assert refused.value.code == "not_open"


def test_interest_opens_at_its_own_time_or_at_any_time_when_unset() -> None:
    made = launch()
    made.check_interest_open(OPENS_AT - timedelta(days=3))
    with pytest.raises(NotOpen):
        made.check_interest_open(OPENS_AT - timedelta(days=3, microseconds=1))
    launch(interest_opens_at=None).check_interest_open(OPENS_AT - timedelta(days=365))


def test_a_rehearsal_launch_reads_its_clock_at_its_time_scale() -> None:
    rehearsal = launch(time_scale=60)
    assert rehearsal.clock(OPENS_AT - timedelta(minutes=1)) == OPENS_AT - timedelta(minutes=1)
    assert rehearsal.clock(OPENS_AT + timedelta(minutes=1)) == OPENS_AT + timedelta(hours=1)


# --- delivery estimate ---------------------------------------------------------------


def order_of(variant: Variant, placed_at: datetime) -> Order:
    return Order(
        id="o-1",
        sequence=1,
        launch="yu7-2025",
        sku=variant.sku,
        customer="c-1",
        status=OrderStatus.RESERVED,
        deposit_amount=5000,
        placed_at=placed_at,
        refundable_until=placed_at + timedelta(hours=168),
    )


def test_a_build_to_order_car_is_delivered_within_its_lead_weeks_of_the_order() -> None:
    placed_at = OPENS_AT + timedelta(seconds=30)
    window = delivery_window(order_of(MAX, placed_at), MAX)
    assert window == (placed_at + timedelta(weeks=39), placed_at + timedelta(weeks=61))


def test_a_variant_without_lead_weeks_gives_no_delivery_estimate() -> None:
    assert delivery_window(order_of(LTD, OPENS_AT), LTD) is None
