"""What-if and supply risk as pure functions, against figures worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from launchday.domain.build_queue import BuildQueue
from launchday.domain.errors import ValidationFailed
from launchday.domain.production_plan import Component, Line, ProductionPlan, Rate, Supplier
from launchday.domain.what_if import (
    AddedSupplier,
    LineLoss,
    SupplierOutage,
    supplier_risks,
    what_if,
)

T0 = datetime(2025, 7, 7, tzinfo=UTC)


def plan_with(on_hand: int, *suppliers: Supplier) -> ProductionPlan:
    pack = Component("pack", (("STD", 1),), on_hand, suppliers)
    chip = Component("chip", (("STD", 1), ("MAX", 1)), 10_000, (Supplier("acme", (Rate(0, 0),)),))
    line = Line("yz", ("STD", "MAX"), (Rate(0, 100),))
    return ProductionPlan(date(2025, 7, 7), "Asia/Shanghai", 2, 3, (line,), (pack, chip))


FUDI = Supplier("fudi", (Rate(0, 100),))
QUEUE = BuildQueue.of(("STD", "MAX"), [("STD", T0, i) for i in range(300)])


def test_an_outage_with_no_stock_delays_every_car_behind_it_by_its_length() -> None:
    before, after, impacts, resilience = what_if(
        plan_with(0, FUDI), QUEUE, 0, (SupplierOutage("fudi", 1, 2),)
    )
    assert before.week.tolist() == [0] * 100 + [1] * 100 + [2] * 100
    assert after.week.tolist() == [0] * 100 + [3] * 100 + [4] * 100
    std = next(i for i in impacts if i.sku == "STD")
    assert (std.orders, std.delayed, std.mean_delay_weeks, std.worst_delay_weeks) == (
        300,
        200,
        2.0,
        2,
    )
    (pack,) = resilience
    assert (pack.component, pack.survive_weeks, pack.recover_weeks, pack.at_risk) == (
        "pack",
        0,
        2,
        True,
    )


def test_stock_on_hand_buys_time() -> None:
    _, after, impacts, resilience = what_if(
        plan_with(150, FUDI), QUEUE, 0, (SupplierOutage("fudi", 1, 2),)
    )
    assert after.week.tolist() == [0] * 100 + [1] * 100 + [2] * 50 + [3] * 50
    std = next(i for i in impacts if i.sku == "STD")
    assert (std.delayed, std.worst_delay_weeks) == (50, 1)
    assert (resilience[0].survive_weeks, resilience[0].at_risk) == (1, True)


def test_a_second_supplier_covers_an_outage() -> None:
    second = AddedSupplier("pack", Supplier("catl", (Rate(0, 100),)))
    _, _, impacts, resilience = what_if(
        plan_with(0, FUDI), QUEUE, 0, (second, SupplierOutage("fudi", 0, 3))
    )
    assert all(i.delayed == 0 for i in impacts)
    assert (resilience[0].survive_weeks, resilience[0].at_risk) == (None, False)


def test_a_line_losing_30_percent_for_two_weeks() -> None:
    _, after, impacts, _ = what_if(plan_with(10_000, FUDI), QUEUE, 0, (LineLoss("yz", 0.3, 0, 2),))
    assert after.week.tolist() == [0] * 70 + [1] * 70 + [2] * 100 + [3] * 60
    std = next(i for i in impacts if i.sku == "STD")
    assert (std.delayed, std.worst_delay_weeks) == (30 + 60 + 60, 1)


def test_unknown_names_in_changes_are_refused() -> None:
    for change, field in [
        (SupplierOutage("nobody", 0, 1), "changes[0].supplier"),
        (SupplierOutage("fudi", 0, 1, component="wheel"), "changes[0].component"),
        (LineLoss("nowhere", 0.5, 0, 1), "changes[0].line"),
        (AddedSupplier("pack", FUDI), "changes[0].supplier"),
    ]:
        with pytest.raises(ValidationFailed) as refusal:
            what_if(plan_with(0, FUDI), QUEUE, 0, (change,))
        assert refusal.value.field == field


def test_suppliers_ranked_by_the_delay_their_loss_causes() -> None:
    plan = plan_with(0, Supplier("fudi", (Rate(0, 60),)), Supplier("catl", (Rate(0, 50),)))
    risks = supplier_risks(plan, QUEUE, 0, 4)
    assert [r.supplier for r in risks] == ["fudi", "catl", "acme"]
    assert risks[0].buyer_weeks > risks[1].buyer_weeks > 0
    assert risks[2].buyer_weeks == 0
    assert risks[2].sole_source_of == ("chip",)
    assert risks[0].sole_source_of == ()
