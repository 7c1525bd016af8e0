"""The launch report as files: report.json, each chart as PNG and SVG, and report.html."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from launchday.analytics.chart_parts import png_bytes, svg_text
from launchday.analytics.charts import report_charts
from launchday.analytics.html import render_html
from launchday.analytics.report import Report


def write_report_files(
    report: Report,
    out: Path,
    *,
    other: Report | None = None,
    scenario_milestones: Sequence[tuple[float, int]] | None = None,
) -> list[Path]:
    """Write the report, its charts and its page into `out`; return the paths written.

    `other` is the compared launch's report (its curve is drawn beside this one's);
    `scenario_milestones` are the (after_seconds, expected_orders) a rehearsal replays,
    marked on the cumulative chart and set beside the milestones in the page. The same
    arguments always give byte-identical files. Raises ValueError when the report
    compares with another launch than `other`.
    """
    if other is not None and report.compare is not None and report.compare.launch != other.launch:
        raise ValueError(
            f"the report compares {report.launch} with {report.compare.launch}, not {other.launch}"
        )
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(name: str, content: bytes) -> None:
        path = out / name
        path.write_bytes(content)
        written.append(path)

    write("report.json", msgspec.json.format(msgspec.json.encode(report), indent=2))
    svgs: dict[str, str] = {}
    for name, figure in report_charts(
        report, other=other, scenario_milestones=scenario_milestones
    ).items():
        svgs[name] = svg_text(figure, name)
        write(f"{name}.png", png_bytes(figure))
        write(f"{name}.svg", svgs[name].encode())
    page = render_html(report, svgs, other=other, scenario_milestones=scenario_milestones)
    write("report.html", page.encode())
    return written
