"""A production plan is refused, with the field at fault, when it names what the launch
does not sell, leaves a build-to-order variant without a line, or overlaps periods."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from launchday.domain.errors import ValidationFailed
from launchday.domain.production_plan import (
    Component,
    Line,
    ProductionPlan,
    Rate,
    Supplier,
    rate_in,
    validate_plan,
)

SKUS = ("STD", "MAX", "LTD")
PACK = Component("pack", (("STD", 1),), 0, (Supplier("fudi", (Rate(0, 10),)),))
PLAN = ProductionPlan(
    date(2025, 7, 7), "Asia/Shanghai", 2, 3,
    (Line("yz", ("STD", "MAX"), (Rate(0, 100), Rate(8, 200))),), (PACK,),
)  # fmt: skip


def refused(plan: ProductionPlan, field: str) -> None:
    with pytest.raises(ValidationFailed) as refusal:
        validate_plan(plan, SKUS, ("STD", "MAX"))
    assert refusal.value.field == field, refusal.value


def test_a_sound_plan_passes() -> None:
    validate_plan(PLAN, SKUS, ("STD", "MAX"))


def test_an_unknown_variant_on_a_line_is_refused() -> None:
    refused(
        replace(PLAN, lines=(replace(PLAN.lines[0], skus=("STD", "MAX", "GT")),)), "lines[0].skus"
    )


def test_an_unknown_variant_using_a_component_is_refused() -> None:
    pack = replace(PACK, per_car=(("GT", 1),))
    refused(replace(PLAN, components=(pack,)), "components[0].per_car")


def test_a_build_to_order_variant_no_line_builds_is_refused() -> None:
    refused(replace(PLAN, lines=(replace(PLAN.lines[0], skus=("STD",)),)), "lines")


def test_overlapping_periods_are_refused() -> None:
    line = replace(PLAN.lines[0], capacity=(Rate(0, 100), Rate(8, 200), Rate(8, 300)))
    refused(replace(PLAN, lines=(line,)), "lines[0].capacity")
    supplier = Supplier("fudi", (Rate(4, 10), Rate(2, 5)))
    refused(
        replace(PLAN, components=(replace(PACK, suppliers=(supplier,)),)),
        "components[0].suppliers[0].supply",
    )


def test_names_given_twice_and_unknown_zones_are_refused() -> None:
    refused(replace(PLAN, lines=(PLAN.lines[0], PLAN.lines[0])), "lines")
    refused(replace(PLAN, components=(PACK, PACK)), "components")
    refused(replace(PLAN, timezone="Mars/Olympus"), "timezone")
    refused(replace(PLAN, priority_skus=("GT",)), "priority_skus")


def test_a_rate_holds_until_the_next_and_nothing_comes_before_the_first() -> None:
    rates = (Rate(2, 100), Rate(8, 0), Rate(9, 300))
    assert [rate_in(rates, week) for week in (0, 1, 2, 7, 8, 9, 500)] == [
        0,
        0,
        100,
        100,
        0,
        300,
        300,
    ]
