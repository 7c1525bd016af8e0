"""The report's stores, on SQLite and PostgreSQL: orders by channel, the store leaderboard,
test drives per store and local date, test drives into orders and orders after test
drives, and orders per region, in the report's JSON, its text and report.html (its tables
and the tiles of its two maps). The launch is tests/store_scenario.py's."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import msgspec
import pytest
from rich.console import Console

from launchday.analytics.build import build_report
from launchday.analytics.report import Report
from launchday.analytics.report_files import write_report_files
from launchday.analytics.report_text import print_report
from launchday.store.reads import snapshot_reads
from tests.store_scenario import (
    BEIJING_MILLIONS,
    EXPECTED_CHANNELS,
    EXPECTED_CONVERSION,
    EXPECTED_DAYS,
    EXPECTED_LEADERBOARD,
    EXPECTED_REGIONS,
    SHANGHAI_MILLIONS,
    SLUG,
    launch_in_stores,
    utc,
)
from tests.support import Api, Database, SettableClock
from tests.test_region_map import drawn

REPORT = f"/api/v1/launches/{SLUG}/report"


@pytest.fixture
def report(api: Api, clock: SettableClock) -> dict[str, Any]:
    launch_in_stores(api, clock)
    answer = api.get(REPORT, headers=api.admin())
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_report_counts_orders_by_channel_as_its_totals_count_them(
    report: dict[str, Any],
) -> None:
    channels = report["stores"]["channels"]
    assert [c["channel"] for c in channels] == ["app", "web", "store", "partner"]
    assert {c["channel"]: c["orders"] for c in channels} == EXPECTED_CHANNELS
    assert sum(c["orders"] for c in channels) == report["orders"]["total"] == 10
    assert [c["share"] for c in channels] == [0.2, 0.2, 0.5, 0.1]


def test_the_leaderboard_ranks_stores_by_orders_then_test_drives_done(
    report: dict[str, Any],
) -> None:
    rows = report["stores"]["stores"]
    assert [
        (r["store"], r["orders"], r["delivery_centre_orders"], r["test_drives_booked"],
         r["test_drives_done"], r["no_shows"])
        for r in rows
    ] == EXPECTED_LEADERBOARD  # fmt: skip
    # Haidian sold nothing, was no one's centre and had no test drive: not listed.
    assert (rows[0]["name"], rows[0]["city"], rows[0]["region"]) == (
        "Xiaomi Auto Beijing Chaoyang", "Beijing", "CN-BJ",
    )  # fmt: skip


def test_test_drives_fall_on_their_stores_local_dates(report: dict[str, Any]) -> None:
    days = report["stores"]["test_drive_days"]
    assert [(d["store"], d["date"], d["booked"], d["done"]) for d in days] == EXPECTED_DAYS


def test_the_conversion_counts_test_drives_into_orders_and_orders_after_test_drives(
    report: dict[str, Any],
) -> None:
    c = report["stores"]["conversion"]
    assert c["window_days"] == 7
    assert (c["test_drivers"], c["ordered_within_window"], c["orders"], c["after_test_drive"]) == (
        EXPECTED_CONVERSION
    )
    assert c["ordered_share"] == pytest.approx(2 / 5)
    assert c["after_test_drive_share"] == pytest.approx(2 / 9)


def test_orders_per_region_per_million_people_and_per_store(report: dict[str, Any]) -> None:
    regions = {r["region"]: r for r in report["stores"]["regions"]}
    assert {
        code: (r["orders"], r["store_orders"], r["stores"]) for code, r in regions.items()
    } == EXPECTED_REGIONS
    assert regions["CN-BJ"]["name"] == "Beijing"
    assert regions["CN-BJ"]["orders_per_million"] == pytest.approx(4 / BEIJING_MILLIONS)
    assert regions["CN-SH"]["orders_per_million"] == pytest.approx(3 / SHANGHAI_MILLIONS)
    assert regions["CN-BJ"]["store_orders_per_store"] == 1.5
    assert regions["CN-SH"]["store_orders_per_store"] == 1.0
    assert report["stores"]["orders_without_region"] == 3  # Dave, Ivan, a walk-in


def test_an_earlier_report_counts_only_what_had_happened_by_then(
    api: Api, clock: SettableClock, database: Database
) -> None:
    launch_in_stores(api, clock)
    with closing(database.connect()) as conn:
        early = build_report(snapshot_reads(conn), SLUG, at=utc("2026-11-23T12:00"), now=clock.now)
    assert early.stores is not None
    assert {c.channel: c.orders for c in early.stores.channels} == {
        "app": 1, "web": 0, "store": 4, "partner": 1,
    }  # fmt: skip
    conversion = early.stores.conversion
    # Ivan's test drive is the next day's; nobody has ordered since driving.
    assert (conversion.test_drivers, conversion.ordered_within_window) == (4, 0)
    assert (conversion.orders, conversion.after_test_drive) == (6, 0)


def test_a_launch_without_stores_has_no_store_section(api: Api) -> None:
    api.create_launch()
    assert api.place("c-1", channel="web").status_code == 201
    report = api.get(REPORT, headers=api.admin()).json()
    assert report["stores"] is None


# --- the text and the page -----------------------------------------------------------


def as_report(report: dict[str, Any]) -> Report:
    return msgspec.convert(report, Report)


def test_the_text_report_shows_the_channels_the_top_stores_and_the_conversion(
    report: dict[str, Any],
) -> None:
    out = io.StringIO()
    print_report(as_report(report), Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert (
        "orders by channel: app 2 (20.0%), web 2 (20.0%), store 5 (50.0%), partner 1 (10.0%)"
        in text
    )
    leaderboard = re.findall(r"Xiaomi Auto .*", text)
    assert [[cell.strip() for cell in line.strip(" │").split("│")] for line in leaderboard] == [
        ["Xiaomi Auto Beijing Chaoyang", "Beijing", "CN-BJ", "3", "0", "4", "3", "1"],
        ["Xiaomi Auto Shanghai Pudong", "Shanghai", "CN-SH", "1", "2", "2", "2", "0"],
        ["Xiaomi Auto Shanghai Jing'an", "Shanghai", "CN-SH", "1", "0", "0", "0", "0"],
    ]
    assert "test drives by local date (booked/done): 2026-11-23 5/4, 2026-11-24 1/1" in text
    assert "test drive to order within 7 days: 2 of 5 buyers with a test drive done (40.0%)" in text
    assert "orders after a test drive: 2 of 9 not cancelled (22.2%)" in text
    assert "orders by buyer region: CN-BJ 4 (0.183/million), CN-SH 3 (0.121/million)" in text


class Tables(HTMLParser):
    """The cells of each table with an id, row by row; and each figure's inline SVG."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id"):
            self._table = found["id"]
            self.tables[str(self._table)] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table is not None and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def figure_svg(page: str, figure_id: str) -> str:
    start = page.index(f'<figure id="{figure_id}">')
    svg = page.index("<svg", start)
    return page[svg : page.index("</svg>", svg) + len("</svg>")]


def test_report_html_has_a_stores_section_with_its_tables_and_maps(
    report: dict[str, Any], tmp_path: Path
) -> None:
    written = write_report_files(as_report(report), tmp_path)
    assert tmp_path / "channels.svg" in written
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<section id="stores">' in page
    parsed = Tables()
    parsed.feed(page)
    tables = parsed.tables
    assert tables["store-channels"][1:] == [
        ["app", "2", "20.0%"], ["web", "2", "20.0%"], ["store", "5", "50.0%"],
        ["partner", "1", "10.0%"],
    ]  # fmt: skip
    assert [row[:1] + row[3:] for row in tables["store-leaderboard"][1:]] == [
        ["Xiaomi Auto Beijing Chaoyang", "3", "0", "4", "3", "1"],
        ["Xiaomi Auto Shanghai Pudong", "1", "2", "2", "2", "0"],
        ["Xiaomi Auto Shanghai Jing'an", "1", "0", "0", "0", "0"],
    ]
    assert tables["store-days"][1:] == [
        ["2026-11-23", "5", "4", "2"],
        ["2026-11-24", "1", "1", "1"],
    ]
    conversion = dict(tables["store-conversion"])
    assert conversion["buyers with a test drive done"] == "5"
    assert conversion["… who ordered within 7 days of it"] == "2 (40.0%)"
    assert conversion["orders not cancelled"] == "9"
    assert conversion["… whose buyer had a test drive done before"] == "2 (22.2%)"
    # The maps' tiles carry their values; the other provinces have no data.
    per_capita = drawn(figure_svg(page, "map-per-capita"))
    assert len(per_capita) == 34
    assert per_capita["CN-BJ"][2] == (
        f"Beijing (CN-BJ): {4 / BEIJING_MILLIONS:.3g} orders per million people"
        f" (4 orders; {BEIJING_MILLIONS} million people)"
    )
    assert per_capita["CN-SH"][2].startswith(f"Shanghai (CN-SH): {3 / SHANGHAI_MILLIONS:.3g} ")
    assert per_capita["CN-GD"][2] == "Guangdong (CN-GD): no data"
    per_store = drawn(figure_svg(page, "map-per-store"))
    assert per_store["CN-BJ"][2] == "Beijing (CN-BJ): 1.5 store orders per store"
    assert per_store["CN-SH"][2] == "Shanghai (CN-SH): 1 store orders per store"
    # Beijing sells more per store: the darker tile (channels fall from light to dark).
    shade = {code: sum(int(f[k : k + 2], 16) for k in (1, 3, 5)) for code, (f, _, _) in
             per_store.items() if code in ("CN-BJ", "CN-SH")}  # fmt: skip
    assert shade["CN-BJ"] < shade["CN-SH"]
    # Inline, and still one page that fetches nothing; every id once.
    assert "<script" not in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for name in ("map-per-capita", "map-per-store"):
        ET.fromstring(figure_svg(page, name))  # noqa: S314 - our own output
