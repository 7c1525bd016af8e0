"""Scenario loading: both shipped scenarios load, and every mistake names file, field and line."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchday.api.wire import LaunchSpec, launch_from_spec
from launchday.sim.scenario import (
    Scenario,
    ScenarioError,
    launch_spec,
    scaled_locks,
    scaled_milestones,
)
from launchday.sim.scenario_file import load_scenario, packaged_scenarios, parse_scenario
from launchday.sim.toml_fields import field_name, parse_duration
from launchday.sim.toml_positions import key_line

OPENS = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)

# A small valid scenario; the error cases below change one numbered line of it.
BASE = """\
[launch]
slug = "demo-1"
name = "Demo"
currency = "CNY"
opens_at = "2025-06-26T14:00:00Z"

[deposit]
amount = 5000
refundable_hours = 168

[[variants]]
sku = "A"
name = "A"
price = 100
mix = 0.6

[[variants]]
sku = "B"
name = "B"
price = 200
mix = 0.4
stock = 10

[demand]
milestones = [
  { after = "10s", orders = 100, source = "modelled" },
  { after = "2m",  orders = 300, source = "reported" },
]
locks = [ { after = "1h", orders = 200 } ]
cancel_share = 0.01

[interest]
window = "72h"
registrations = 1000
first_car_with_brand = 0.6

[buyers]
apple_users = 0.5
"""


def with_line(number: int, text: str) -> str:
    """BASE with line `number` (1-based) replaced by `text`."""
    lines = BASE.splitlines()
    lines[number - 1] = text
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped scenarios -----------------------------------------------------------------


def test_both_scenarios_are_packaged() -> None:
    assert set(packaged_scenarios()) >= {"yu7-2025", "su7-2024"}


@pytest.mark.parametrize("name", ["yu7-2025", "su7-2024"])
def test_a_shipped_scenario_loads_by_name_and_replays_as_a_valid_launch(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.slug == name
    assert abs(sum(v.mix for v in scenario.variants) - 1) < 1e-9
    spec = launch_spec(scenario, opens_at=OPENS, time_scale=60, scale=0.01)
    launch_from_spec(spec)  # the domain's cross-field rules hold too
    assert msgspec.json.decode(msgspec.json.encode(spec), type=LaunchSpec) == spec


def test_the_yu7_figures_are_read_as_published() -> None:
    yu7 = load_scenario("yu7-2025")
    assert yu7.opens_at == datetime(2025, 6, 26, 14, 0, tzinfo=UTC)
    assert [(m.after_seconds, m.orders) for m in yu7.milestones][3:5] == [
        (120.0, 196_000),
        (180.0, 200_000),
    ]
    assert yu7.milestones[3].source == "reported"
    assert yu7.milestones[0].source == "modelled"
    assert [(m.after_seconds, m.orders) for m in yu7.locks] == [(120, 128_000), (64_800, 240_000)]
    assert yu7.cancel_share == 0.005
    assert yu7.interest is not None
    assert yu7.interest.window_seconds == 72 * 3600
    assert (yu7.interest.first_car_with_brand, yu7.interest.new_to_brand) == (0.60, 0.40)
    assert yu7.buyers is not None
    assert yu7.buyers.apple_users == 0.524
    assert [v.lead_weeks for v in yu7.variants] == [(58, 61), (51, 54), (39, 42)]


def test_the_su7_founders_edition_is_limited_and_locks_on_payment() -> None:
    su7 = load_scenario("su7-2024")
    founders = su7.variants[-1]
    assert (founders.sku, founders.stock, founders.deposit, founders.refundable_hours) == (
        "SU7-FOUNDERS",
        5000,
        20_000,
        0.0,
    )
    assert su7.locks[0].after_seconds == 27 * 86_400


def test_a_scenario_loads_from_a_file_path(tmp_path: Path) -> None:
    path = write(tmp_path, BASE, "demo.toml")
    scenario = load_scenario(path)
    assert scenario.slug == "demo-1"
    assert scenario.file == str(path)
    assert load_scenario(str(path)) == scenario


def test_an_unknown_name_lists_the_packaged_scenarios() -> None:
    with pytest.raises(ScenarioError, match="yu7-2025") as caught:
        load_scenario("yu9-2030")
    assert caught.value.file == "yu9-2030"


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "absent.toml")


# --- the launch a replay creates ---------------------------------------------------------


def test_launch_spec_scales_stock_and_keeps_the_variants_own_deposit() -> None:
    su7 = load_scenario("su7-2024")
    spec = launch_spec(su7, opens_at=OPENS, time_scale=60, scale=0.01, slug="su7-rehearsal")
    assert spec.slug == "su7-rehearsal"
    assert spec.time_scale == 60
    assert spec.admission is None
    assert spec.opens_at == OPENS
    assert spec.interest_opens_at == OPENS - timedelta(hours=72)
    assert spec.deposit.amount == 5000
    assert spec.deposit.refundable_hours == 168
    by_sku = {v.sku: v for v in spec.variants}
    founders = by_sku["SU7-FOUNDERS"]
    assert founders.stock == 50
    assert founders.deposit is not None
    assert (founders.deposit.amount, founders.deposit.refundable_hours) == (20_000, 0)
    assert by_sku["SU7-STD"].stock is None
    assert by_sku["SU7-STD"].deposit is None
    assert by_sku["SU7-MAX"].lead_weeks == [27, 30]
    assert spec.report_milestones == [240, 420, 1620, 86_400, 27 * 86_400]


@pytest.mark.parametrize("scale", [1e-9, 1e-6, 0.0001])
def test_a_limited_run_keeps_at_least_one_unit_at_any_scale(scale: float) -> None:
    spec = launch_spec(load_scenario("su7-2024"), opens_at=OPENS, time_scale=1, scale=scale)
    assert {v.sku: v.stock for v in spec.variants}["SU7-FOUNDERS"] == 1


def test_a_variant_overriding_only_its_window_keeps_the_launch_deposit(tmp_path: Path) -> None:
    scenario = parse_scenario(with_line(22, "refundable_hours = 0"))
    spec = launch_spec(scenario, opens_at=OPENS, time_scale=1, scale=1)
    assert spec.variants[1].deposit is not None
    assert (spec.variants[1].deposit.amount, spec.variants[1].deposit.refundable_hours) == (5000, 0)
    assert spec.variants[1].stock is None


def test_launch_spec_checks_the_api_bounds() -> None:
    yu7 = load_scenario("yu7-2025")
    with pytest.raises(msgspec.ValidationError):
        launch_spec(yu7, opens_at=OPENS, time_scale=1, scale=1, slug="Not A Slug")
    with pytest.raises(ValueError, match="time zone"):
        launch_spec(yu7, opens_at=datetime(2026, 1, 1), time_scale=1, scale=1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="scale"):
        launch_spec(yu7, opens_at=OPENS, time_scale=1, scale=0)


@given(scale=st.floats(min_value=1e-6, max_value=10))
def test_scaled_milestones_stay_monotone_and_round_each_count(scale: float) -> None:
    yu7 = load_scenario("yu7-2025")
    for original, scaled in (
        (yu7.milestones, scaled_milestones(yu7, scale)),
        (yu7.locks, scaled_locks(yu7, scale)),
    ):
        assert [m.after_seconds for m in scaled] == [m.after_seconds for m in original]
        assert all(
            abs(s.orders - o.orders * scale) <= 0.5 for s, o in zip(scaled, original, strict=True)
        )
        assert all(a.orders <= b.orders for a, b in itertools.pairwise(scaled))


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("2m", 120),
        ("18h", 64_800),
        ("7d", 604_800),
        ("27d", 2_332_800),
        ("1h30m", 5400),
        ("1.5s", 1.5),
        ("2w", 1_209_600),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "m", "2 minutes", "-5s", "2y", "1h-3m", "s2"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(
    amount=st.integers(min_value=0, max_value=10**6),
    unit=st.sampled_from([("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]),
)
def test_a_duration_is_its_number_times_its_unit(amount: int, unit: tuple[str, int]) -> None:
    assert parse_duration(f"{amount}{unit[0]}") == amount * unit[1]


# --- mix ------------------------------------------------------------------------------------


def test_absent_mix_means_equal_shares() -> None:
    text = with_line(21, "").replace("mix = 0.6\n", "")
    assert [v.mix for v in parse_scenario(text).variants] == [0.5, 0.5]


def test_a_partly_given_mix_leaves_the_rest_to_the_others() -> None:
    scenario = parse_scenario(with_line(21, ""))
    assert [round(v.mix, 9) for v in scenario.variants] == [0.6, 0.4]


def test_a_mix_off_by_rounding_is_normalised() -> None:
    scenario = parse_scenario(with_line(21, "mix = 0.405"))
    assert abs(sum(v.mix for v in scenario.variants) - 1) < 1e-12


# --- errors name the file, the field and the line --------------------------------------------

ERRORS = [
    # (line to replace, replacement, field, line reported)
    (2, 'slug = "Demo 1"', "launch.slug", 2),
    (4, 'currency = "yuan"', "launch.currency", 4),
    (5, 'opens_at = "2025-06-26T14:00:00"', "launch.opens_at", 5),
    (5, 'opens_at = "the evening of 26 June"', "launch.opens_at", 5),
    (5, "opens_at = 2025-06-26", "launch.opens_at", 5),
    (6, "per_customer_limit = 0", "launch.per_customer_limit", 6),
    (8, 'amount = "5000"', "deposit.amount", 8),
    (8, "amount = -1", "deposit.amount", 8),
    (9, "refundable_hours = true", "deposit.refundable_hours", 9),
    (13, "", "variants[0].name", 11),
    (14, "price = 1.5", "variants[0].price", 14),
    (18, 'sku = "A"', "variants[1].sku", 18),
    (21, "mix = 0.5", "variants[1].mix", 21),
    (21, "mix = 1.5", "variants[1].mix", 21),
    (15, "mix = 0.5", "variants[1].mix", 21),
    (22, "stok = 10", "variants[1].stok", 22),
    (22, "lead_weeks = [61, 58]", "variants[1].lead_weeks", 22),
    (22, "lead_weeks = [58]", "variants[1].lead_weeks", 22),
    (
        26,
        '  { after = "10s", orders = 100, source = "guessed" },',
        "demand.milestones[0].source",
        26,
    ),
    (26, '  { after = "0s", orders = 100 },', "demand.milestones[0].after", 26),
    (26, "  { after = 10, orders = 100 },", "demand.milestones[0].after", 26),
    (
        26,
        '  { after = "10s", orders = 100, soruce = "reported" },',
        "demand.milestones[0].soruce",
        26,
    ),
    (27, '  { after = "5s", orders = 300 },', "demand.milestones[1].after", 27),
    (27, '  { after = "2 minutes", orders = 300 },', "demand.milestones[1].after", 27),
    (27, '  { after = "2m", orders = 50 },', "demand.milestones[1].orders", 27),
    (27, '  { after = "2m", orders = 2.5e2 },', "demand.milestones[1].orders", 27),
    (29, 'locks = [ { after = "1h", orders = 400 } ]', "demand.locks[0].orders", 29),
    (29, "locks = 200", "demand.locks", 29),
    (30, "cancel_share = 1.2", "demand.cancel_share", 30),
    (33, "window = 72", "interest.window", 33),
    (34, "registrations = -1", "interest.registrations", 34),
    (35, "first_car_with_brand = -0.1", "interest.first_car_with_brand", 35),
    (38, 'apple_users = "52%"', "buyers.apple_users", 38),
    (38, "apple_share = 0.52", "buyers.apple_share", 38),
]


@pytest.mark.parametrize(("number", "replacement", "field", "line"), ERRORS)
def test_an_error_names_the_file_the_field_and_the_line(
    tmp_path: Path, number: int, replacement: str, field: str, line: int
) -> None:
    path = write(tmp_path, with_line(number, replacement))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert (error.file, error.field, error.line) == (str(path), field, line)
    assert str(error).startswith(f"{path}:{line}: {field}: ")


def test_a_missing_section_is_named_without_a_line(tmp_path: Path) -> None:
    text = BASE.replace("[deposit]\namount = 5000\nrefundable_hours = 168\n", "")
    with pytest.raises(ScenarioError, match=r"deposit: the \[deposit\] section is required"):
        load_scenario(write(tmp_path, text))


def test_missing_milestones_point_at_the_demand_section() -> None:
    start = BASE.index("milestones = [")
    end = BASE.index("locks =")
    text = BASE[:start] + BASE[end:].replace('locks = [ { after = "1h", orders = 200 } ]', "")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, file="x.toml")
    assert (caught.value.field, caught.value.line) == ("demand", 24)


def test_an_unknown_section_is_named_at_its_header(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "\n[demnad]\nmilestones = []\n")
    with pytest.raises(ScenarioError, match="unknown section 'demnad'") as caught:
        load_scenario(path)
    assert (caught.value.field, caught.value.line) == ("demnad", 40)


def test_a_toml_syntax_error_keeps_the_line_tomllib_reports(tmp_path: Path) -> None:
    path = write(tmp_path, with_line(14, "price = "))
    with pytest.raises(ScenarioError, match="not valid TOML") as caught:
        load_scenario(path)
    assert caught.value.line == 14
    assert str(caught.value).startswith(f"{path}:14: ")


def test_a_file_that_is_not_utf8_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(BASE.replace('"Demo"', '"Démo"').encode("latin-1"))
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(path)


@given(
    variants=st.integers(min_value=1, max_value=6),
    data=st.data(),
)
def test_the_line_of_a_bad_price_is_found_in_any_variant(
    variants: int, data: st.DataObject
) -> None:
    bad = data.draw(st.integers(min_value=0, max_value=variants - 1))
    # Comments and blank lines between tables must not throw the count off.
    padding = data.draw(st.lists(st.sampled_from(["", "# note", "  "]), max_size=3))
    head, _, _ = BASE.partition("[[variants]]")
    _, _, tail = BASE.partition("[demand]")
    blocks = []
    for index in range(variants):
        price = '"cheap"' if index == bad else "100"
        blocks.append(
            "\n".join(
                ["[[variants]]", *padding, f'sku = "V{index}"', 'name = "V"', f"price = {price}"]
            )
        )
    text = head + "\n\n".join(blocks) + "\n\n[demand]" + tail
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    lines = text.splitlines()
    assert caught.value.field == f"variants[{bad}].price"
    assert caught.value.line is not None
    assert lines[caught.value.line - 1] == 'price = "cheap"'


def test_key_line_skips_over_values_that_look_like_keys() -> None:
    text = '[a]\ns = """\nb = 1\n"""\nb = 2 # b = 3\nc = [\n  "]", { b = 4 },\n]\n'
    assert key_line(text, ("a", "b")) == 5
    assert key_line(text, ("a", "c", 1, "b")) == 7
    assert key_line(text, ("a", "missing")) == 1
    assert key_line(text, ("nope",)) is None


def test_field_names_read_like_paths() -> None:
    assert field_name(("demand", "milestones", 1, "after")) == "demand.milestones[1].after"
    assert field_name(("variants", 0)) == "variants[0]"


def test_a_scenario_is_frozen() -> None:
    scenario: Scenario = load_scenario("yu7-2025")
    with pytest.raises(AttributeError):
        scenario.slug = "other"  # type: ignore[misc]
