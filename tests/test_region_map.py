"""The region tile map (`launchday.analytics.region_map`): China's grid, the fallback grid
for other countries, shading light to dark by value or by value per million people,
and an SVG that parses whatever the texts put in it."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from itertools import combinations, pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchday.analytics.region_map import (
    CHINA,
    DARK,
    LIGHT,
    NO_DATA,
    classes,
    layout,
    region_map_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
PROVINCES = [
    *("CN-BJ", "CN-TJ", "CN-HE", "CN-SX", "CN-NM", "CN-LN", "CN-JL", "CN-HL", "CN-SH"),
    *("CN-JS", "CN-ZJ", "CN-AH", "CN-FJ", "CN-JX", "CN-SD", "CN-HA", "CN-HB", "CN-HN"),
    *("CN-GD", "CN-GX", "CN-HI", "CN-CQ", "CN-SC", "CN-GZ", "CN-YN", "CN-XZ", "CN-SN"),
    *("CN-GS", "CN-QH", "CN-NX", "CN-XJ", "CN-HK", "CN-MO", "CN-TW"),
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def drawn(svg: str) -> dict[str, tuple[str, str, str]]:
    """Each region drawn: its tile's fill, its label and its tooltip."""
    root = parse(svg)
    regions = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "region":
            continue
        (rect,) = group.findall(f"{SVG}rect")
        regions[group.get("data-region", "")] = (
            rect.get("fill", ""),
            group.findtext(f"{SVG}text", ""),
            group.findtext(f"{SVG}title", ""),
        )
    return regions


def fills(svg: str) -> dict[str, str]:
    return {code: fill for code, (fill, _, _) in drawn(svg).items()}


def lightness(colour: str) -> int:
    """Sum of the channels: every channel falls from LIGHT to DARK, so this orders shades."""
    return sum(int(colour[k : k + 2], 16) for k in (1, 3, 5))


def cell_distance(a: str, b: str) -> int:
    return max(abs(CHINA[a].column - CHINA[b].column), abs(CHINA[a].row - CHINA[b].row))


def test_china_is_drawn_as_one_tile_per_provincial_division() -> None:
    svg = region_map_svg({"CN-BJ": 5, "CN-GD": 9}, title="Orders", unit="orders")
    assert sorted(drawn(svg)) == sorted(PROVINCES)
    assert sorted(CHINA) == sorted(PROVINCES)


def test_the_map_is_a_standalone_accessible_svg() -> None:
    root = parse(region_map_svg({"CN-BJ": 5}, title="Orders by province", unit="orders"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    width, height = int(root.get("width", "0")), int(root.get("height", "0"))
    assert width > 0
    assert height > 0
    assert root.get("viewBox") == f"0 0 {width} {height}"
    assert root.findtext(f"{SVG}title") == "Orders by province"
    for rect in root.iter(f"{SVG}rect"):  # nothing drawn off the canvas
        assert int(rect.get("x", "0")) + int(rect.get("width", "0")) <= width
        assert int(rect.get("y", "0")) + int(rect.get("height", "0")) <= height


def test_no_two_provinces_share_a_cell_or_overlap_when_drawn() -> None:
    assert len({(tile.column, tile.row) for tile in CHINA.values()}) == len(CHINA)
    root = parse(region_map_svg({"CN-BJ": 1}, title="t", unit="u"))
    corners = [
        (int(rect.get("x", "")), int(rect.get("y", "")), int(rect.get("width", "")))
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "region"
        for rect in group.iter(f"{SVG}rect")
    ]
    assert len(corners) == 34
    for (x1, y1, size), (x2, y2, _) in combinations(corners, 2):
        assert abs(x1 - x2) >= size or abs(y1 - y2) >= size


def test_beijing_tianjin_and_hebei_touch_each_other() -> None:
    for a, b in combinations(["CN-BJ", "CN-TJ", "CN-HE"], 2):
        assert cell_distance(a, b) == 1, (a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CN-SH", "CN-JS"),
        ("CN-SH", "CN-ZJ"),
        ("CN-GD", "CN-HK"),
        ("CN-GD", "CN-MO"),
        ("CN-CQ", "CN-SC"),
        ("CN-JL", "CN-HL"),
        ("CN-JL", "CN-LN"),
        ("CN-XZ", "CN-QH"),
        ("CN-HA", "CN-HB"),
    ],
)
def test_neighbouring_provinces_are_neighbouring_tiles(a: str, b: str) -> None:
    assert cell_distance(a, b) == 1


def test_the_grid_keeps_the_rough_geography_of_china() -> None:
    columns = [tile.column for tile in CHINA.values()]
    rows = [tile.row for tile in CHINA.values()]
    assert CHINA["CN-XJ"].column == min(columns)  # far west
    assert CHINA["CN-HL"].row == min(rows)  # top right
    assert CHINA["CN-HL"].column == max(columns)
    assert CHINA["CN-HI"].row == max(rows)  # bottom
    assert CHINA["CN-TW"].row == CHINA["CN-FJ"].row  # across the strait, to the east
    assert CHINA["CN-TW"].column == CHINA["CN-FJ"].column + 1
    assert CHINA["CN-SH"].column > CHINA["CN-SC"].column  # the coast east of the interior


def test_every_province_has_a_name_and_its_2020_population() -> None:
    assert CHINA["CN-GD"].name == "Guangdong"
    assert CHINA["CN-GD"].population == pytest.approx(126.01)
    assert CHINA["CN-MO"].population == pytest.approx(0.68)
    # The census counted 1,409.78 million in the 31 mainland provinces (its national
    # 1,411.78 adds 2 million in active military service, placed in no province).
    mainland = [tile for code, tile in CHINA.items() if code not in {"CN-HK", "CN-MO", "CN-TW"}]
    assert sum(tile.population or 0 for tile in mainland) == pytest.approx(1409.78, abs=0.1)
    assert all(tile.population for tile in CHINA.values())


def test_the_largest_value_is_darkest_and_the_smallest_lightest() -> None:
    values = {"CN-GD": 900.0, "CN-BJ": 400.0, "CN-SH": 650.0, "CN-XZ": 3.0, "CN-HE": 120.0}
    shown = fills(region_map_svg(values, title="Orders", unit="orders"))
    assert shown["CN-GD"] == DARK
    assert shown["CN-XZ"] == LIGHT
    by_value = sorted(values, key=values.__getitem__)
    assert [lightness(shown[code]) for code in by_value] == sorted(
        (lightness(shown[code]) for code in by_value), reverse=True
    )


@given(
    st.dictionaries(
        st.sampled_from(PROVINCES),
        st.floats(min_value=0, max_value=1e12, allow_nan=False),
        min_size=1,
    )
)
def test_a_larger_value_is_never_drawn_lighter(values: dict[str, float]) -> None:
    shown = fills(region_map_svg(values, title="Orders", unit="orders"))
    for a, b in combinations(values, 2):
        if values[a] < values[b]:
            assert lightness(shown[a]) >= lightness(shown[b])
        elif values[a] == values[b]:
            assert shown[a] == shown[b]
    if len(set(values.values())) > 1:
        assert shown[max(values, key=values.__getitem__)] == DARK
        assert shown[min(values, key=values.__getitem__)] == LIGHT


def test_regions_without_a_value_are_grey_and_say_so() -> None:
    regions = drawn(region_map_svg({"CN-BJ": 10, "CN-SH": 20}, title="t", unit="orders"))
    assert regions["CN-XJ"][0] == NO_DATA
    assert "no data" in regions["CN-XJ"][2]
    assert regions["CN-BJ"][0] != NO_DATA
    assert sum(fill == NO_DATA for fill, _, _ in regions.values()) == 32


def test_tiles_are_labelled_and_carry_the_name_and_value() -> None:
    _, label, tip = drawn(region_map_svg({"CN-BJ": 1234}, title="t", unit="orders"))["CN-BJ"]
    assert label == "BJ"
    assert "Beijing" in tip
    assert "1,234 orders" in tip


def test_codes_match_in_any_case_and_are_drawn_in_upper_case() -> None:
    regions = drawn(region_map_svg({"cn-bj": 10, "Cn-Sh": 20}, title="t", unit="u"))
    assert len(regions) == 34
    assert regions["CN-SH"][0] == DARK
    assert regions["CN-BJ"][0] == LIGHT
    assert regions["CN-BJ"][1] == "BJ"


def test_per_capita_shades_by_value_per_million_people() -> None:
    # The same orders: Shanghai has a fifth of Guangdong's people, so five times the rate.
    equal = {"CN-SH": 5000, "CN-GD": 5000}
    raw = fills(region_map_svg(equal, title="t", unit="orders"))
    assert raw["CN-SH"] == raw["CN-GD"]
    per_head = drawn(region_map_svg(equal, title="t", unit="orders", per_capita=True))
    assert per_head["CN-SH"][0] == DARK
    assert per_head["CN-GD"][0] == LIGHT
    assert "201 orders per million people" in per_head["CN-SH"][2]  # 5000 / 24.87
    assert "39.7 orders per million people" in per_head["CN-GD"][2]  # 5000 / 126.01


def test_per_capita_orders_regions_against_raw_counts() -> None:
    # Guangdong has the most orders; per head, small Macao leads and Guangdong trails.
    values = {"CN-GD": 10_000, "CN-BJ": 3_000, "CN-MO": 500}
    per_head = fills(region_map_svg(values, title="t", unit="orders", per_capita=True))
    assert per_head["CN-MO"] == DARK
    assert per_head["CN-GD"] == LIGHT
    assert lightness(per_head["CN-MO"]) < lightness(per_head["CN-BJ"])


def test_per_capita_without_populations_is_no_data() -> None:
    svg = region_map_svg({"US-CA": 10, "US-TX": 5}, title="t", unit="orders", per_capita=True)
    assert set(fills(svg).values()) == {NO_DATA}


def test_other_countries_fall_back_to_an_alphabetical_square_grid() -> None:
    regions = drawn(region_map_svg({"US-TX": 1, "us-ca": 3, "US-NY": 2}, title="t", unit="u"))
    assert sorted(regions) == ["US-CA", "US-NY", "US-TX"]
    assert [label for _, label, _ in regions.values()] == ["CA", "NY", "TX"]
    cells = layout(["US-TX", "US-CA", "US-NY"])
    assert [(cells[c].column, cells[c].row) for c in ("US-CA", "US-NY", "US-TX")] == [
        (0, 0),
        (1, 0),
        (0, 1),
    ]
    assert regions["US-CA"][0] == DARK


def test_a_code_outside_china_makes_the_whole_map_the_fallback_grid() -> None:
    regions = drawn(region_map_svg({"CN-BJ": 1, "CN-XX": 2}, title="t", unit="u"))
    assert sorted(regions) == ["CN-BJ", "CN-XX"]


@given(st.integers(min_value=1, max_value=60))
def test_the_fallback_grid_is_near_square_with_one_cell_each(n: int) -> None:
    cells = layout([f"XX-{k:03d}" for k in range(n)])
    columns = max(t.column for t in cells.values()) + 1
    rows = max(t.row for t in cells.values()) + 1
    assert len({(t.column, t.row) for t in cells.values()}) == n
    assert rows <= columns <= rows + 1


def test_texts_are_escaped() -> None:
    svg = region_map_svg({"CN-BJ": 1}, title='Orders <&> "launch"', unit="<b>orders</b>")
    root = parse(svg)
    assert root.findtext(f"{SVG}title") == 'Orders <&> "launch"'
    assert "<b>orders</b>" in drawn(svg)["CN-BJ"][2]
    assert "<b>" not in svg


@given(st.text())
def test_any_title_gives_a_parsable_svg(title: str) -> None:
    root = parse(region_map_svg({"ZZ-<&>": 1}, title=title, unit=title))
    assert root.findtext(f"{SVG}title") is not None


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs"))))
def test_a_title_of_printable_text_survives_exactly(title: str) -> None:
    root = parse(region_map_svg({"CN-BJ": 1}, title=title, unit="orders"))
    assert root.findtext(f"{SVG}title") == title


@pytest.mark.parametrize("bad", [-1.0, -1e-9, math.nan, math.inf, -math.inf])
def test_negative_or_non_finite_values_are_refused_naming_the_region(bad: float) -> None:
    with pytest.raises(ValueError, match="CN-SH"):
        region_map_svg({"CN-BJ": 1, "cn-sh": bad}, title="t", unit="u")


def test_the_same_region_in_two_cases_is_refused() -> None:
    with pytest.raises(ValueError, match="CN-BJ"):
        region_map_svg({"CN-BJ": 1, "cn-bj": 2}, title="t", unit="u")


def test_the_legend_shows_each_class_range_and_no_data() -> None:
    values = {"CN-BJ": 0, "CN-SH": 100, "CN-GD": 30, "CN-HE": 50, "CN-JS": 70}
    root = parse(region_map_svg(values, title="t", unit="orders per store"))
    (legend,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "legend"]
    texts = [t.text for t in legend.iter(f"{SVG}text")]
    assert texts == [
        "orders per store",
        "0 to 20",
        "20 to 40",
        "40 to 60",
        "60 to 80",
        "80 to 100",
        "no data",
    ]
    swatches = [r.get("fill") for r in legend.iter(f"{SVG}rect")]
    assert swatches[0] == LIGHT
    assert swatches[4] == DARK
    assert swatches[5] == NO_DATA


def test_classes_cover_the_smallest_to_the_largest_value_in_equal_steps() -> None:
    assert classes([3, 8, 13, 0, 10]) == [(0, 2.6), (2.6, 5.2), (5.2, 7.8), (7.8, 10.4), (10.4, 13)]
    assert classes([7, 7, 7]) == [(7, 7)]
    assert classes([]) == []
    assert classes([1, 2], count=5) == [(1, 1.5), (1.5, 2)]  # no more than the distinct values


def test_classes_need_at_least_one_class() -> None:
    with pytest.raises(ValueError, match="count"):
        classes([1, 2], count=0)


@given(
    st.lists(st.floats(min_value=0, max_value=1e15, allow_nan=False), min_size=1),
    st.integers(min_value=1, max_value=9),
)
def test_classes_are_contiguous_and_span_min_to_max_exactly(
    values: list[float], count: int
) -> None:
    ranges = classes(values, count)
    assert ranges == classes(list(reversed(values)), count)
    assert ranges[0][0] == min(values)
    assert ranges[-1][1] == max(values)
    assert len(ranges) == min(count, len(set(values)))
    for (_, high), (low, _) in pairwise(ranges):
        assert high == low
    assert all(low <= high for low, high in ranges)
