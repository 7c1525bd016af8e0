"""A scenario's `[production]` section: read and checked as the API checks a plan, every
mistake with its line; scaled for a replay without drifting; and its quotes held
against the published waits."""

from __future__ import annotations

import itertools
import tomllib
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchday.api.production_wire import ProductionSpec
from launchday.domain.production_plan import Rate, rate_in
from launchday.sim.delivery_quotes import QuoteCheck, quote_checks
from launchday.sim.scenario import ScenarioError
from launchday.sim.scenario_file import load_scenario, parse_scenario
from launchday.sim.scenario_production import (
    SCALED_WEEKS,
    quote_moment,
    replay_plan,
    scaled_rates,
)

BASE = """\
[launch]
slug = "demo-1"
name = "Demo"
currency = "CNY"
opens_at = "2025-06-26T14:00:00Z"

[deposit]
amount = 5000

[[variants]]
sku = "A"
name = "A"
price = 100
lead_weeks = [10, 13]

[[variants]]
sku = "B"
name = "B"
price = 200
stock = 10

[demand]
milestones = [ { after = "2m", orders = 300 } ]

[production]
weeks_start = 2025-06-23
timezone = "Asia/Shanghai"
delivery_lag_weeks = 2
quotes_on = 2025-07-04

[[production.lines]]
id = "line-1"
skus = ["A"]
capacity = [
  { from_week = 0, cars_per_week = 30, source = "assumed" },
  { from_week = 4, cars_per_week = 60, source = "reported" },
]

[[production.components]]
id = "pack"
per_car = { A = 1 }
on_hand = 100
[[production.components.suppliers]]
id = "cells-co"
supply = [ { from_week = 0, units_per_week = 25, source = "modelled" } ]
"""


def with_line(number: int, text: str) -> str:
    lines = BASE.splitlines()
    lines[number - 1] = text
    return "\n".join(lines) + "\n"


def test_the_section_reads_as_the_apis_plan() -> None:
    production = parse_scenario(BASE).production
    assert production is not None
    assert production.quotes_on == date(2025, 7, 4)
    plan = production.plan
    assert plan.weeks_start == date(2025, 6, 23)
    assert plan.lines[0].capacity == (Rate(0, 30), Rate(4, 60))
    assert plan.components[0].on_hand == 100
    assert plan.components[0].suppliers[0].supply == (Rate(0, 25),)
    assert plan.window_weeks == 3  # the API's default


def test_a_scenario_without_the_section_has_no_plan() -> None:
    assert parse_scenario(BASE[: BASE.index("[production]")]).production is None


ERRORS = [
    (29, 'quotes_on = "4 July"', "production.quotes_on", 29),
    (32, 'id = "line 1"', "production.lines[0].id", 32),
    (33, 'skus = ["A", "Z"]', "production.lines[0].skus", 33),
    (33, 'skus = ["B"]', "production.lines", 31),  # A, built to order, has no line
    (
        36,
        '  { from_week = 0, cars_per_week = 60, source = "reported" },',
        "production.lines[0].capacity",
        34,
    ),
    (
        36,
        '  { from_week = 4, cars_per_week = -1, source = "reported" },',
        "production.lines[0].capacity[1].cars_per_week",
        36,
    ),
    (
        36,
        '  { from_week = 4, cars_per_week = 60, source = "guessed" },',
        "production.lines[0].capacity[1].source",
        36,
    ),
    (42, "on_hand = -5", "production.components[0].on_hand", 42),
    (
        45,
        "supply = [ { from_week = 0, units = 25 } ]",
        "production.components[0].suppliers[0].supply[0]",
        45,
    ),
    (27, 'timezone = "Mars/Olympus"', "production.timezone", 27),
]


@pytest.mark.parametrize(("number", "replacement", "field", "line"), ERRORS)
def test_a_mistake_in_the_plan_names_its_field_and_line(
    number: int, replacement: str, field: str, line: int
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(with_line(number, replacement), file="plan.toml")
    assert (caught.value.field, caught.value.line) == (field, line), str(caught.value)


def test_an_unknown_key_in_the_section_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"production\.lead_weeks: unknown field"):
        parse_scenario(with_line(30, "lead_weeks = 3"))


@pytest.mark.parametrize("name", ["yu7-2025", "su7-2024"])
def test_the_shipped_plans_load_and_every_weekly_figure_says_where_it_comes_from(
    name: str,
) -> None:
    scenario = load_scenario(name)
    assert scenario.production is not None
    assert scenario.production.quotes_on is not None
    built = [v.sku for v in scenario.variants if v.stock is None]
    assert all(scenario.production.plan.lines_for(sku) for sku in built)
    raw = tomllib.loads(resources.files("launchday.scenarios").joinpath(f"{name}.toml").read_text())
    rates = [r for line in raw["production"]["lines"] for r in line["capacity"]]
    rates += [
        r
        for component in raw["production"]["components"]
        for supplier in component["suppliers"]
        for r in supplier["supply"]
    ]
    assert rates
    assert all(r["source"] in {"reported", "modelled", "assumed"} for r in rates)


@given(
    st.lists(st.tuples(st.integers(1, 30), st.integers(0, 100_000)), min_size=1, max_size=6),
    st.floats(0.0001, 1.0),
)
def test_a_scaled_rate_keeps_every_weeks_running_total_to_the_nearest_unit(
    steps: list[tuple[int, int]], scale: float
) -> None:
    rates, week = [], 0
    for gap, per_week in steps:
        rates.append(Rate(week, per_week))
        week += gap
    scaled = scaled_rates(tuple(rates), scale)
    assert all(r.per_week >= 0 for r in scaled)
    assert all(a.from_week < b.from_week for a, b in itertools.pairwise(scaled))
    assert len(scaled) <= 520
    exact = given_total = 0.0
    for w in range(SCALED_WEEKS):
        exact += rate_in(tuple(rates), w) * scale
        given_total += rate_in(scaled, w)
        assert abs(given_total - exact) <= 0.5 + 1e-6 * exact


def test_a_small_rate_is_given_in_whole_units_now_and_then() -> None:
    # 0.25 a week: one unit every fourth week, not none ever (nor one every week).
    scaled = scaled_rates((Rate(0, 25),), 0.01)
    assert sum(rate_in(scaled, w) for w in range(40)) == 10


def test_the_replay_body_is_scaled_moved_and_valid() -> None:
    production = parse_scenario(BASE).production
    assert production is not None
    body = replay_plan(production, 0.5, timedelta(days=529, hours=3))
    spec = msgspec.convert(body, ProductionSpec)
    assert spec.weeks_start == date(2025, 6, 23) + timedelta(days=529)
    assert spec.components[0].on_hand == 50
    assert spec.lines[0].capacity[0].cars_per_week == 15
    assert spec.components[0].suppliers[0].supply[0].units_per_week in (12, 13)


def test_the_quote_is_placed_at_noon_of_its_day_moved_with_the_opening() -> None:
    scenario = parse_scenario(BASE)
    assert scenario.production is not None
    replay_opens = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    moment = quote_moment(scenario.production, scenario.opens_at, replay_opens)
    # 4 July 2025, 12:00 in Shanghai is 04:00 UTC: 7 days 14 hours after the opening.
    assert moment == replay_opens + timedelta(days=7, hours=14)


def test_quotes_are_set_beside_the_published_waits() -> None:
    scenario = parse_scenario(BASE)
    answer = {
        "launch": "demo-1",
        "variants": [{"sku": "A", "estimate": {"weeks": [12, 15]}}],
    }
    (check,) = quote_checks(scenario, answer)
    assert check == QuoteCheck("A", (10, 13), (12, 15))
    assert (check.difference, check.within_tolerance) == (2, True)
    assert not QuoteCheck("A", (10, 13), (13, 16)).within_tolerance
    assert not QuoteCheck("A", (10, 13), (7, 10)).within_tolerance
    assert not QuoteCheck("A", (10, 13), None).within_tolerance


def test_a_plan_file_loads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(BASE, encoding="utf-8")
    assert load_scenario(path).production == parse_scenario(BASE).production
