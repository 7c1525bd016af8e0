"""A value per region (orders per store, orders per million people) as a tile map in SVG.

Boundary shapes would need data files or the network; a tile-grid cartogram needs
neither. Each region is one equal square at a fixed cell that keeps the country's rough
geography, so Macao gets as much room as Xinjiang and every value stays readable.
China's 34 provincial-level divisions have a hand-placed grid; the regions of any other
country are laid out alphabetically on a near-square grid, so every call draws a map.

Everything here is a pure function of its arguments: the same values give the same SVG,
and every text written into it is escaped, so it can sit inline in the report's page.
"""

from __future__ import annotations

import html
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType
from typing import Final

# Light to dark in the report's orange; the grey of "no data" must not read as a value.
LIGHT: Final = "#ffe8cc"  # not white: the lightest tile must stand out from the page
DARK: Final = "#a33d08"
NO_DATA: Final = "#dee2e6"
# The charts' text colours (chart_parts), repeated so that drawing a map needs no matplotlib.
TEXT: Final = "#212529"
MUTED: Final = "#6c757d"
CLASSES: Final = 5

TILE: Final = 44  # pixels: room for a two-letter label at a size a phone can read
GAP: Final = 4
MARGIN: Final = 16
TITLE_HEIGHT: Final = 34
LEGEND_WIDTH: Final = 200
LEGEND_ROW: Final = 20


@dataclass(frozen=True, slots=True)
class Tile:
    """A region's cell (column from the left, row from the top), its name, and its
    population in millions when known."""

    column: int
    row: int
    name: str
    population: float | None = None


# Population in millions, to two decimals. Mainland: Seventh National Population Census,
# 2020 (National Bureau of Statistics; census day 1 November 2020). Hong Kong, Macao and
# Taiwan are outside that census: Hong Kong's Census and Statistics Department (mid-2020
# estimate), Macao's Statistics and Census Service (end of 2020), Taiwan's Department of
# Household Registration (end of 2020).
CHINA: Final[Mapping[str, Tile]] = MappingProxyType(
    {
        "CN-HL": Tile(6, 0, "Heilongjiang", 31.85),
        "CN-NM": Tile(3, 1, "Inner Mongolia", 24.05),
        "CN-BJ": Tile(4, 1, "Beijing", 21.89),
        "CN-LN": Tile(5, 1, "Liaoning", 42.59),
        "CN-JL": Tile(6, 1, "Jilin", 24.07),
        "CN-XJ": Tile(0, 2, "Xinjiang", 25.85),
        "CN-GS": Tile(1, 2, "Gansu", 25.02),
        "CN-NX": Tile(2, 2, "Ningxia", 7.20),
        "CN-SX": Tile(3, 2, "Shanxi", 34.92),
        "CN-HE": Tile(4, 2, "Hebei", 74.61),
        "CN-TJ": Tile(5, 2, "Tianjin", 13.87),
        "CN-XZ": Tile(0, 3, "Tibet", 3.65),
        "CN-QH": Tile(1, 3, "Qinghai", 5.92),
        "CN-SN": Tile(2, 3, "Shaanxi", 39.53),
        "CN-HA": Tile(3, 3, "Henan", 99.37),
        "CN-SD": Tile(4, 3, "Shandong", 101.53),
        "CN-SC": Tile(1, 4, "Sichuan", 83.67),
        "CN-CQ": Tile(2, 4, "Chongqing", 32.05),
        "CN-HB": Tile(3, 4, "Hubei", 57.75),
        "CN-AH": Tile(4, 4, "Anhui", 61.03),
        "CN-JS": Tile(5, 4, "Jiangsu", 84.75),
        "CN-SH": Tile(6, 4, "Shanghai", 24.87),
        "CN-YN": Tile(1, 5, "Yunnan", 47.21),
        "CN-GZ": Tile(2, 5, "Guizhou", 38.56),
        "CN-HN": Tile(3, 5, "Hunan", 66.44),
        "CN-JX": Tile(4, 5, "Jiangxi", 45.19),
        "CN-ZJ": Tile(5, 5, "Zhejiang", 64.57),
        "CN-GX": Tile(2, 6, "Guangxi", 50.13),
        "CN-GD": Tile(3, 6, "Guangdong", 126.01),
        "CN-FJ": Tile(4, 6, "Fujian", 41.54),
        "CN-TW": Tile(5, 6, "Taiwan", 23.56),
        "CN-HI": Tile(2, 7, "Hainan", 10.08),
        "CN-MO": Tile(3, 7, "Macao", 0.68),
        "CN-HK": Tile(4, 7, "Hong Kong", 7.51),
    }
)

# XML 1.0 cannot carry these at all, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def layout(codes: Iterable[str]) -> Mapping[str, Tile]:
    """China's grid when every code is one of its provinces, else the codes in a square."""
    wanted = sorted({code.upper() for code in codes})
    if wanted and all(code in CHINA for code in wanted):
        return CHINA
    columns = math.ceil(math.sqrt(len(wanted)))
    return {code: Tile(k % columns, k // columns, code) for k, code in enumerate(wanted)}


def classes(values: Iterable[float], count: int = CLASSES) -> list[tuple[float, float]]:
    """Equal-width (low, high) ranges from the smallest value to the largest, exactly.

    No more classes than distinct values: one class when every value is the same, none
    for no values.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    distinct = sorted(set(values))
    if not distinct:
        return []
    low, high = distinct[0], distinct[-1]
    n = min(count, len(distinct))
    if n == 1:
        return [(low, high)]
    bounds = [low + (high - low) * k / n for k in range(n)] + [high]
    return list(pairwise(bounds))


def class_of(value: float, ranges: Sequence[tuple[float, float]]) -> int:
    """The index of the range holding `value`; a value on a boundary is in the lower one."""
    return min(bisect_left([high for _, high in ranges], value), len(ranges) - 1)


def shades(count: int) -> list[str]:
    """`count` colours from light to dark, evenly spaced between LIGHT and DARK."""
    if count == 1:
        return [_mix(LIGHT, DARK, 0.5)]
    return [_mix(LIGHT, DARK, k / (count - 1)) for k in range(count)]


def region_map_svg(
    values: Mapping[str, float], *, title: str, unit: str, per_capita: bool = False
) -> str:
    """A standalone SVG tile map of the regions, each shaded by its value.

    `values` is keyed by ISO 3166-2 code in any case ("CN-BJ", "cn-bj"). With
    `per_capita`, each value is divided by the region's population in millions; a
    region without a known population is drawn as no data, as is one without a value.
    """
    given = _checked(values)
    tiles = layout(given)
    shown: dict[str, float] = {}
    for code, value in given.items():
        population = tiles[code].population
        if not per_capita:
            shown[code] = value
        elif population:
            shown[code] = value / population
    ranges = classes(shown.values())
    colours = shades(len(ranges))
    measure = f"{unit} per million people" if per_capita else unit

    columns = max((t.column for t in tiles.values()), default=-1) + 1
    rows = max((t.row for t in tiles.values()), default=-1) + 1
    legend_x = MARGIN + columns * (TILE + GAP) + (MARGIN if columns else 0)
    width = legend_x + LEGEND_WIDTH
    height = TITLE_HEIGHT + max(rows * (TILE + GAP), (len(ranges) + 2) * LEGEND_ROW) + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" font-family="sans-serif">',
        f"<title>{_text(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 8}" font-size="15" font-weight="bold"'
        f' fill="{TEXT}">{_text(title)}</text>',
        '<g class="tiles">',
    ]
    for code, tile in sorted(tiles.items(), key=lambda item: (item[1].row, item[1].column)):
        if code not in shown:
            parts.append(_tile(code, tile, NO_DATA, f"{tile.name} ({code}): no data"))
            continue
        tip = f"{tile.name} ({code}): {_number(shown[code])} {measure}"
        if per_capita:
            tip += f" ({_number(given[code])} {unit}; {tile.population} million people)"
        parts.append(_tile(code, tile, colours[class_of(shown[code], ranges)], tip))
    keys = [
        (colour, f"{_number(low)} to {_number(high)}")
        for colour, (low, high) in zip(colours, ranges, strict=True)
    ]
    if len(shown) < len(tiles):
        keys.append((NO_DATA, "no data"))
    parts += ["</g>", *_legend(measure, keys, legend_x), "</svg>"]
    return "\n".join(parts) + "\n"


def _tile(code: str, tile: Tile, fill: str, tip: str) -> str:
    x = MARGIN + tile.column * (TILE + GAP)
    y = TITLE_HEIGHT + tile.row * (TILE + GAP)
    # White stands out more than the text colour from any fill darker than this.
    ink = "white" if _luminance(fill) < 0.2 else MUTED if fill == NO_DATA else TEXT
    return (
        f'<g class="region" data-region="{_text(code)}"><title>{_text(tip)}</title>\n'
        f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" rx="3" fill="{fill}"/>\n'
        f'<text x="{x + TILE // 2}" y="{y + TILE // 2 + 4}" text-anchor="middle"'
        f' font-size="12" fill="{ink}">{_text(code.rsplit("-", 1)[-1])}</text></g>'
    )


def _legend(measure: str, keys: Sequence[tuple[str, str]], x: int) -> list[str]:
    y = TITLE_HEIGHT + 12
    parts = [
        f'<g class="legend" font-size="11" fill="{TEXT}">',
        f'<text x="{x}" y="{y}" font-weight="bold">{_text(measure)}</text>',
    ]
    for colour, label in keys:
        y += LEGEND_ROW
        parts += [
            f'<rect x="{x}" y="{y - 11}" width="14" height="14" fill="{colour}"/>',
            f'<text x="{x + 20}" y="{y}">{_text(label)}</text>',
        ]
    return [*parts, "</g>"]


def _checked(values: Mapping[str, float]) -> dict[str, float]:
    checked: dict[str, float] = {}
    for code, value in values.items():
        region = code.upper()
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{region}: a value must be a finite number >= 0, not {value!r}")
        if region in checked:
            raise ValueError(f"{region}: given twice, in different cases")
        checked[region] = float(value)
    return checked


def _mix(start: str, end: str, t: float) -> str:
    a = [int(start[k : k + 2], 16) for k in (1, 3, 5)]
    b = [int(end[k : k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a #rrggbb colour: 0 for black, 1 for white."""
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        for c in (int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5))
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _number(value: float) -> str:
    """A value as people read it: 126,012 or 40.2 or 0.683."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _text(text: str) -> str:
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)
