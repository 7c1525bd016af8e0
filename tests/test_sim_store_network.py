"""A scenario's `[retail]`: read and checked with the line of each mistake, and the store
network generated from its counts: the published size, every store one the API takes,
the same every time; and who among the crowd orders in a store or drives first."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

from launchday.api.stores import StoreSpec, store_of
from launchday.domain.retail_store import validate_store
from launchday.sim.customers import generate_customers, timeline
from launchday.sim.retail_rehearsal import plan_retail
from launchday.sim.scenario import ScenarioError
from launchday.sim.scenario_file import load_scenario, parse_scenario
from launchday.sim.store_network import CITIES, generate_network
from tests.test_sim_scenario import BASE

RETAIL = """
[retail]
brand = "Demo Motors"
sales_stores = 12
service_centres = 3
delivery_centres = 2
cities = 4
store_order_share = 0.2
test_drive_share = 0.5
"""


@pytest.mark.parametrize(
    ("name", "sales", "delivery", "service", "cities"),
    [("yu7-2025", 334, 80, 205, len(CITIES)), ("su7-2024", 93, 30, 57, 31)],
)
def test_the_shipped_networks_have_their_published_size(
    name: str, sales: int, delivery: int, service: int, cities: int
) -> None:
    scenario = load_scenario(name)
    assert scenario.retail is not None
    network = generate_network(scenario.retail, [v.sku for v in scenario.variants])
    kinds = Counter(store.kind for store in network)
    assert kinds == {"sales": sales, "delivery": delivery, "service": service}
    assert len({store.city for store in network}) == cities
    assert len({store.id for store in network}) == len(network)
    # Every store is one the API keeps, as a replay puts it.
    for store in network:
        validate_store(store_of(store.id, msgspec.convert(store.body, StoreSpec)))
    # The same every time: a rehearsal's stores do not move between runs.
    assert generate_network(scenario.retail, [v.sku for v in scenario.variants]) == network


def test_each_city_gets_a_sales_store_and_the_rest_go_by_weight() -> None:
    scenario = parse_scenario(BASE + RETAIL)
    assert scenario.retail is not None
    network = generate_network(scenario.retail, ["A", "B"])
    sales = Counter(store.city for store in network if store.kind == "sales")
    # Four cities of weight 3: 12 stores, 3 each; delivery centres to the first two.
    assert sales == {city[0]: 3 for city in CITIES[:4]}
    centres = [store.city for store in network if store.kind == "delivery"]
    assert centres == ["Beijing", "Shanghai"]
    beijing = next(s for s in network if s.kind == "delivery" and s.city == "Beijing")
    assert beijing.body["logistics_weeks"] == 1  # no plant_region given
    fleet = next(s for s in network if s.kind == "sales").body["demo_cars"]
    assert fleet == {"A": 2, "B": 2}
    lats = {round(s.body["lat"], 3) for s in network if s.city == "Shanghai"}
    assert len(lats) == sum(1 for s in network if s.city == "Shanghai")  # none on one spot


def test_walk_ins_and_test_drives_are_drawn_from_the_seed() -> None:
    scenario = parse_scenario(BASE + RETAIL)
    crowd = generate_customers(scenario, scale=1.0, seed=7)
    events = list(timeline(crowd))
    plan = plan_retail(scenario, events, seed=7)
    assert plan is not None
    buyers = {e.customer.id for e in events if e.kind == "order"}
    assert set(plan.walk_ins) <= buyers
    # About the scenario's shares of the 300 buyers (binomial: well inside 5 sigma).
    assert 30 < len(plan.walk_ins) < 90
    drives = plan.before + plan.after
    assert 110 < len(drives) < 190
    sales = {s.id for s in plan.network if s.kind == "sales"}
    assert {d.store for d in drives} <= sales
    assert set(plan.walk_ins.values()) <= sales
    registered = {c.id for c in crowd.customers if c.registered_at is not None}
    assert {d.customer for d in plan.before} <= registered
    assert plan == plan_retail(scenario, events, seed=7)
    assert plan.walk_ins != plan_retail(scenario, events, seed=8).walk_ins  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("sales_stores = 0", "retail.sales_stores", "at least one sales store"),
        ("cities = 0", "retail.cities", "out of range"),
        ("store_order_share = 1.5", "retail.store_order_share", "out of range"),
        ('timezone = "Mars/Olympus"', "retail.timezone", "unknown time zone"),
        ('opens = "9am"', "retail.opens", "like 10:00"),
        ('plant_region = "Beijing"', "retail.plant_region", "ISO 3166-2"),
        ("stores = 12", "retail.stores", "unknown field"),
    ],
)
def test_a_bad_retail_section_names_its_field_and_line(
    tmp_path: Path, line: str, field: str, reason: str
) -> None:
    text = BASE + RETAIL + line + "\n"
    if line.startswith(("sales_stores", "cities", "store_order_share")):
        key = line.split(" ")[0]
        text = BASE + RETAIL.replace(f"\n{key} = ", f"\n# {key} = ") + line + "\n"
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert error.field == field, error
    assert reason in error.reason, error
    assert error.line == len(text.splitlines()), error
