"""The report as files: report.json, each chart as PNG and SVG, and one self-contained page.

Most tests build reports by hand (a YU7-like launch compared with an SU7-like one);
the last one writes the files of a report the real app produced, on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from launchday.analytics import (
    Answered,
    BuyerMix,
    ByStatus,
    Cancellations,
    Comparison,
    InterestMix,
    LockTotals,
    Milestone,
    OrderTotals,
    RatioAt,
    Report,
    Series,
    build_report,
)
from launchday.analytics.report import STANDARD_MILESTONES, ratio
from launchday.analytics.report_files import write_report_files
from launchday.store.reads import snapshot_reads
from tests.support import Api, Database, SettableClock

CHARTS = ["cumulative_orders", "orders_per_second", "orders_per_minute", "locks", "composition"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"

YU7_POINTS = [(10, 60_000), (30, 131_000), (60, 175_000), (120, 196_000), (180, 200_000)]
YU7_POINTS += [(600, 217_000), (1800, 253_000), (3600, 289_000)]
SU7_POINTS = [(240, 10_000), (420, 20_000), (1620, 50_000), (86_400, 88_898)]
# What a rehearsal of the YU7 expects, as `write_report_files` is given it.
YU7_SCENARIO = [(float(after), orders) for after, orders in YU7_POINTS]


def cumulative_at(points: Sequence[tuple[int, int]], t: float) -> int:
    """Orders by `t`: straight lines between (0, 0) and each point, flat after the last."""
    previous = (0, 0)
    for after, orders in points:
        if t <= after:
            x0, y0 = previous
            return round(y0 + (orders - y0) * (t - x0) / (after - x0))
        previous = (after, orders)
    return previous[1]


def launch_report(
    slug: str,
    name: str,
    points: Sequence[tuple[int, int]],
    elapsed: int,
    *,
    registrations: int = 300_000,
    compare: Comparison | None = None,
) -> Report:
    """A report consistent with itself: series, milestones and totals from one curve."""

    def at(t: float) -> int:
        return cumulative_at(points, t)

    per_second = [0] + [at(k) - at(k - 1) for k in range(1, min(elapsed, 3600) + 1)]
    minutes = -(-elapsed // 60)
    per_minute = [0] + [at(min(k * 60, elapsed)) - at((k - 1) * 60) for k in range(1, minutes + 1)]
    offsets = sorted({*STANDARD_MILESTONES, 10, 30, 1800} & set(range(elapsed + 1)))
    milestones = [
        Milestone(
            after_seconds=m,
            at=f"+{m}s",
            orders=at(m),
            locked=at(m) * min(m, 600) // 1000,
            cancelled=at(m) // 250,
        )
        for m in offsets
    ]
    total = at(elapsed)
    last = milestones[-1] if milestones else Milestone(0, "+0s", 0, 0, 0)
    return Report(
        launch=slug,
        name=name,
        currency="CNY",
        time_scale=60.0,
        opens_at="2025-06-26T14:00:00Z",
        as_of="2025-06-26T15:00:00Z",
        generated_at="2025-06-26T14:01:00Z",
        elapsed_seconds=elapsed,
        orders=OrderTotals(
            total=total,
            by_status=ByStatus(
                reserved=total - last.locked - last.cancelled,
                locked=last.locked,
                cancelled=last.cancelled,
            ),
            by_sku={f"{slug.upper()}-MAX": total},
        ),
        locked=LockTotals(
            total=last.locked, at_placement=0, early=last.locked, window_ended=0, deposits=0
        ),
        cancellations=Cancellations(count=last.cancelled, refunded_amount=last.cancelled * 5000),
        milestones=milestones,
        series=Series(step_seconds=1, orders=per_second),
        series_per_minute=Series(step_seconds=60, orders=per_minute),
        interest=InterestMix(
            registrations=registrations,
            first_car_with_brand=0.6,
            new_to_brand=0.4,
            apple_users=0.52,
            answered=Answered(registrations, registrations, registrations),
        ),
        buyers=BuyerMix(
            orders=total,
            registered=total // 2,
            first_car_with_brand=0.58,
            new_to_brand=None,
            apple_users=0.524,
            answered=Answered(total, 0, total),
        ),
        compare=compare,
    )


@pytest.fixture(scope="module")
def su7() -> Report:
    return launch_report("su7-2024", "Xiaomi SU7", SU7_POINTS, 86_400, registrations=100_000)


@pytest.fixture(scope="module")
def yu7(su7: Report) -> Report:
    alone = launch_report("yu7-2025", "Xiaomi YU7", YU7_POINTS, 3600)
    theirs = {m.after_seconds: m.orders for m in su7.milestones}
    return msgspec.structs.replace(
        alone,
        compare=Comparison(
            launch="su7-2024",
            orders_ratio_at=[
                RatioAt(
                    m.after_seconds,
                    m.orders,
                    theirs[m.after_seconds],
                    ratio(m.orders, theirs[m.after_seconds]),
                )
                for m in alone.milestones
            ],
            interest_ratio=3.0,
            interest_window_seconds=259_200,
            registrations=300_000,
            other_registrations=100_000,
        ),
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, yu7: Report, su7: Report) -> list[Path]:
    """The YU7 report's files, compared with the SU7, with the scenario's milestones."""
    out = tmp_path_factory.mktemp("report") / "out"
    return write_report_files(yu7, out, other=su7, scenario_milestones=YU7_SCENARIO)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def svg_texts(path: Path) -> str:
    """Every text an SVG shows (its title and its <text> elements), in one string."""
    root = ET.parse(path).getroot()  # noqa: S314 - our own output
    assert root.tag == f"{SVG}svg"
    return "\n".join(
        "".join(e.itertext()) for e in root.iter() if e.tag in (f"{SVG}text", f"{SVG}title")
    )


def test_every_file_is_written_and_not_empty(written: list[Path], yu7: Report) -> None:
    out = written[0].parent
    names = [p.name for p in written]
    charts = [*CHARTS, "comparison"]
    assert sorted(names) == sorted(
        ["report.json", "report.html", *(f"{c}.{ext}" for c in charts for ext in ("png", "svg"))]
    )
    for path in written:
        assert path.parent == out
        assert path.stat().st_size > 0, path
    assert msgspec.json.decode((out / "report.json").read_bytes(), type=Report) == yu7


def test_pngs_are_valid_images_of_a_laptop_screen_size(
    written: list[Path], yu7: Report, su7: Report
) -> None:
    tmp_path = written[0].parent
    for chart in [*CHARTS, "comparison"]:
        data = (tmp_path / f"{chart}.png").read_bytes()
        assert data.startswith(PNG_SIGNATURE), chart
        width, height = png_size(data)
        assert 1000 <= width <= 2000, (chart, width)
        assert 500 <= height <= 1200, (chart, height)
        assert 1.5 <= width / height <= 2.2, (chart, width, height)


def test_svgs_parse_and_show_the_launch_name_and_milestone_labels(
    written: list[Path], yu7: Report, su7: Report
) -> None:
    tmp_path = written[0].parent
    for chart in [*CHARTS, "comparison"]:
        assert "Xiaomi YU7" in svg_texts(tmp_path / f"{chart}.svg"), chart
    cumulative = svg_texts(tmp_path / "cumulative_orders.svg")
    for label in ("10s", "30s", "1m", "10m", "30m", "1h"):
        assert re.search(rf"^{label}$", cumulative, re.MULTILINE), label
    assert "scenario (expected)" in cumulative
    assert "289,000" in cumulative  # the last figure, with its thousands separator
    locks = svg_texts(tmp_path / "locks.svg").splitlines()
    assert [label for label in locks if label in ("10s", "30s", "1m", "2m", "3m", "10m")] == [
        "10s",
        "30s",
        "1m",
        "2m",
        "3m",
        "10m",
    ]
    comparison = svg_texts(tmp_path / "comparison.svg")
    assert "Xiaomi SU7" in comparison
    hour = next(m.orders for m in su7.milestones if m.after_seconds == 3600)
    assert f"{289_000 / hour:.1f}×" in comparison  # the ratio an hour after opening


def test_the_page_is_self_contained_with_figures_ratio_and_inline_charts(
    written: list[Path], yu7: Report, su7: Report
) -> None:
    tmp_path = written[0].parent
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    # The only URLs are SVG namespace names, which are never fetched.
    without_namespaces = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", page)
    assert "http://" not in without_namespaces
    assert "https://" not in without_namespaces
    for fetches in ("<script", "<link", "<img", " src=", "@import", "url(http", "//fonts."):
        assert fetches not in page, fetches
    assert "289,000" in page  # the headline total
    latest = yu7.compare.orders_ratio_at[-1] if yu7.compare else None
    assert latest is not None
    assert latest.ratio is not None
    assert f"{latest.ratio:.2f}×" in page
    assert "3.00×" in page  # the interest ratio
    assert page.count("<svg") == len(CHARTS) + 1
    assert page.count("</svg>") == len(CHARTS) + 1
    # Every id is unique on the page, and every reference points to one of them.
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert set(re.findall(r'(?:href="#|url\(#)([^")]+)', page)) <= set(ids)
    # The scenario's expected figure sits beside each milestone.
    assert "100.0%" in page


def test_writing_twice_gives_byte_identical_files(
    written: list[Path], tmp_path: Path, yu7: Report, su7: Report
) -> None:
    contents = {p.name: p.read_bytes() for p in written}
    again = write_report_files(yu7, written[0].parent, other=su7, scenario_milestones=YU7_SCENARIO)
    elsewhere = write_report_files(yu7, tmp_path, other=su7, scenario_milestones=YU7_SCENARIO)
    assert [p.name for p in again] == [p.name for p in elsewhere] == [p.name for p in written]
    assert {p.name: p.read_bytes() for p in again} == contents
    assert {p.name: p.read_bytes() for p in elsewhere} == contents


def test_without_a_comparison_there_is_no_comparison_chart(tmp_path: Path, su7: Report) -> None:
    written = write_report_files(su7, tmp_path)
    assert sorted(p.name for p in written) == sorted(
        ["report.json", "report.html", *(f"{c}.{ext}" for c in CHARTS for ext in ("png", "svg"))]
    )
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "88,898" in page
    assert "Against" not in page
    assert page.count("<svg") == len(CHARTS)


def test_the_comparison_is_worked_out_from_the_other_report_when_the_report_has_none(
    tmp_path: Path, su7: Report
) -> None:
    yu7 = launch_report("yu7-2025", "Xiaomi YU7", YU7_POINTS, 3600)
    written = write_report_files(yu7, tmp_path, other=su7)
    assert tmp_path / "comparison.svg" in written
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    hour = next(m.orders for m in su7.milestones if m.after_seconds == 3600)
    assert f"{289_000 / hour:.2f}×" in page


def test_a_report_comparing_another_launch_is_refused(
    tmp_path: Path, yu7: Report, su7: Report
) -> None:
    stranger = msgspec.structs.replace(su7, launch="mix-flip-2024")
    with pytest.raises(ValueError, match="su7-2024"):
        write_report_files(yu7, tmp_path, other=stranger)


def test_names_are_escaped_in_the_page_and_drawn_as_written(tmp_path: Path) -> None:
    name = 'Model <X> & "$9 $9"'
    report = launch_report("model-x", name, YU7_POINTS, 600)
    write_report_files(report, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<X>" not in page
    assert "&lt;X&gt; &amp;" in page
    assert name in svg_texts(tmp_path / "cumulative_orders.svg")  # not read as mathtext


def test_a_launch_with_no_orders_yet_still_gets_its_files(tmp_path: Path) -> None:
    empty = launch_report("quiet", "Quiet launch", [(60, 0)], 0)
    written = write_report_files(empty, tmp_path)
    assert all(p.stat().st_size > 0 for p in written)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No milestone reached yet" in page


def test_the_files_of_a_report_the_app_built(
    api: Api, clock: SettableClock, database: Database, tmp_path: Path
) -> None:
    opens = clock.now
    api.create_launch(opens_at=opens, report_milestones=[10, 30])
    for k, seconds in enumerate((0.5, 4, 12, 31, 70)):
        clock.now = opens + timedelta(seconds=seconds)
        assert api.place(f"c-{k}").status_code == 201
    clock.advance(minutes=5)
    with closing(database.connect()) as conn:
        report = build_report(snapshot_reads(conn), "yu7-2025", now=clock.now)
    written = write_report_files(report, tmp_path / "out")
    assert len(written) == 2 + 2 * len(CHARTS)
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert report.orders.total == 5
    assert "Xiaomi YU7" in page
    labels = svg_texts(tmp_path / "out" / "cumulative_orders.svg").splitlines()
    assert {"10s", "30s", "1m"} <= set(labels)
