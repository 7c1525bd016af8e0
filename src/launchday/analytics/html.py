"""The launch report as one self-contained HTML page.

The page carries its own CSS and its charts as inline SVG: it opens from disk, on a
phone or a laptop, with no network. The template (`templates/report.html.j2`) is
rendered with autoescaping on; the charts are the only markup passed through, and
matplotlib escapes every text it writes into them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import jinja2
from markupsafe import Markup

from launchday.analytics.chart_parts import duration_label, ratio_label, thousands
from launchday.analytics.charts import aligned_milestones, other_name, step_counts
from launchday.analytics.report import RatioAt, Report
from launchday.analytics.store_page import store_section

# What each chart shows, in words under it (and the order the page shows them in).
CAPTIONS: Mapping[str, str] = {
    "cumulative_orders": "Orders placed since opening, on a log time scale; dots are the"
    " report's milestones, diamonds the scenario's expected figures.",
    "orders_per_second": "Orders placed in each second of the first hour.",
    "orders_per_minute": "Orders placed in each minute since opening.",
    "locks": "At each milestone, the orders placed so far by their status then.",
    "composition": "Who registered interest and who bought, as shares of those who"
    " answered each question.",
    "delivery": "How many buyers of each variant are told their car comes each week after"
    " they ordered: the promises as they stand, from the production plan.",
    "channels": "Orders placed through each channel: the brand's app, its web shop, its"
    " stores (placed by their staff for walk-in buyers) and partners' apps.",
    "comparison": "Cumulative orders of both launches, each on time since its own opening,"
    " with the ratio at the milestones both reached.",
}


@dataclass(frozen=True, slots=True)
class Headline:
    """One of the big figures at the top of the page."""

    label: str
    value: str
    note: str = ""
    kind: str = ""  # a CSS class: "compare" for the comparison


@dataclass(frozen=True, slots=True)
class MilestoneRow:
    """A milestone, with the scenario's expected orders when the scenario has one there."""

    after: str
    at: str
    orders: int
    locked: int
    cancelled: int
    expected: int | None
    against_expected: str


@dataclass(frozen=True, slots=True)
class MixRow:
    """One profile question: the share among registrations and among buyers."""

    question: str
    interest: str
    interest_answered: int
    buyers: str
    buyers_answered: int


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart inline: its file name, its SVG markup, and a caption."""

    name: str
    svg: Markup
    caption: str


def render_html(
    report: Report,
    charts: Mapping[str, str],
    *,
    other: Report | None = None,
    scenario_milestones: Sequence[tuple[float, int]] | None = None,
) -> str:
    """The report page, with `charts` (file name to SVG document) inline."""
    inline = {
        name: Chart(name, inline_svg(svg, name), CAPTIONS.get(name, ""))
        for name, svg in charts.items()
    }
    aligned = aligned_milestones(report, other)
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        headlines=headlines(report, aligned, other_name(report, other)),
        milestones=milestone_rows(report, scenario_milestones or ()),
        has_expected=bool(scenario_milestones),
        mix=mix_rows(report),
        aligned=aligned,
        other_name=other_name(report, other),
        charts=inline,
        stores=store_section(report),
        after=duration_label,
        speed="" if report.time_scale == 1 else f"a rehearsal at {report.time_scale:g}× speed",
    )


def inline_svg(document: str, name: str) -> Markup:
    """An SVG document as an element of an HTML page that holds other charts too.

    The XML prolog and DOCTYPE (which names a URL) do not belong inside HTML, and the
    Dublin Core metadata only serves image editors. Every id (and every reference to
    one) gets the chart's name in front, so ids stay unique across the page, and the
    stylesheet matplotlib writes for the whole document is kept to this chart.
    """
    element = document[document.index("<svg") :]
    head, found, tail = element.partition("<metadata>")
    if found:
        element = head.rstrip() + "\n" + tail.partition("</metadata>")[2].lstrip("\n")
    root_end = element.index(">") + 1
    root = element[:root_end]
    body = _TAG.sub(lambda tag: _prefix_ids(tag.group(0), name), element[root_end:])
    root_id = _ROOT_ID.search(root)
    if root_id is not None:
        body = body.replace(
            '<style type="text/css">*{', f'<style type="text/css">#{root_id.group(1)} *{{', 1
        )
    return Markup(root + body.rstrip())  # noqa: S704 - matplotlib's SVG, its texts escaped


# A tag, never text between tags: matplotlib escapes < and > in its texts.
_TAG = re.compile(r"<[^<>]+>")
_ROOT_ID = re.compile(r'\sid="([^"]+)"')
_ID_OR_REF = re.compile(r'(\sid="|[\s:]href="#|url\(#)')


def _prefix_ids(tag: str, name: str) -> str:
    return _ID_OR_REF.sub(lambda m: f"{m.group(1)}{name}-", tag)


def headlines(report: Report, aligned: Sequence[RatioAt], other: str) -> list[Headline]:
    """The big figures: orders, locked, cancelled, the peak, interest, the comparison."""
    orders = report.orders
    locked_share = f"{orders.by_status.locked / orders.total:.0%} of orders" if orders.total else ""
    per_second = step_counts(report.series.orders)
    peak = max(per_second, default=0)
    figures = [
        Headline("orders", thousands(orders.total), f"in {duration_label(report.elapsed_seconds)}"),
        Headline("locked", thousands(orders.by_status.locked), locked_share),
        Headline(
            "cancelled",
            thousands(orders.by_status.cancelled),
            f"{thousands(report.cancellations.refunded_amount)} {report.currency} refunded",
        ),
        Headline(
            "peak orders per second",
            thousands(peak),
            f"{duration_label(per_second.index(peak))} to"
            f" {duration_label(per_second.index(peak) + 1)} after opening"
            if peak
            else "",
        ),
        Headline("registered interest", thousands(report.interest.registrations)),
    ]
    latest = next((r for r in reversed(aligned) if r.ratio is not None), None)
    if latest is not None:
        figures.append(
            Headline(
                f"against {other}",
                ratio_label(latest.ratio),
                f"{duration_label(latest.after_seconds)} after opening",
                kind="compare",
            )
        )
    return figures


def milestone_rows(
    report: Report, scenario_milestones: Sequence[tuple[float, int]]
) -> list[MilestoneRow]:
    """The milestone table, with the scenario's figure where it has one at that time."""
    expected = {float(after): orders for after, orders in scenario_milestones}
    rows = []
    for m in report.milestones:
        wanted = expected.get(float(m.after_seconds))
        rows.append(
            MilestoneRow(
                after=duration_label(m.after_seconds),
                at=m.at,
                orders=m.orders,
                locked=m.locked,
                cancelled=m.cancelled,
                expected=wanted,
                against_expected=f"{m.orders / wanted:.1%}" if wanted else "",
            )
        )
    return rows


def mix_rows(report: Report) -> list[MixRow]:
    """Composition: each profile question among registrations and among buyers."""
    interest, buyers = report.interest, report.buyers
    return [
        MixRow(
            "first car of the brand",
            _share(interest.first_car_with_brand),
            interest.answered.first_car_with_brand,
            _share(buyers.first_car_with_brand),
            buyers.answered.first_car_with_brand,
        ),
        MixRow(
            "new to the brand",
            _share(interest.new_to_brand),
            interest.answered.new_to_brand,
            _share(buyers.new_to_brand),
            buyers.answered.new_to_brand,
        ),
        MixRow(
            "iPhone users",
            _share(interest.apple_users),
            interest.answered.phone,
            _share(buyers.apple_users),
            buyers.answered.phone,
        ),
    ]


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("launchday.analytics", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["thousands"] = thousands
    environment.filters["ratio"] = ratio_label
    environment.filters["share"] = _share
    return environment
