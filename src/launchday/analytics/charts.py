"""The launch report as charts: matplotlib figures, and their PNG and SVG bytes.

Figures are built on `matplotlib.figure.Figure` with an Agg canvas, never pyplot, so
nothing here needs a display or touches pyplot's global figure list, and two threads
can draw at once. The few settings matplotlib reads only from its global rcParams
when writing SVG (the id salt, text as text) are set around the write under a lock.

Every figure is a pure function of its arguments: the same report gives byte-identical
PNG and SVG files (no dates in the metadata, SVG ids salted with a constant).
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from launchday.analytics.chart_parts import (
    CANCELLED,
    GRID,
    INTEREST,
    LABEL_SIZE,
    LOCKED,
    MAX_BARS,
    MIN_RATIO_GAP,
    MUTED,
    NOTE_SIZE,
    ORDERS,
    OTHER,
    REFUNDABLE,
    SCENARIO,
    SPINE,
    TEXT,
    after_first_second,
    count_axis,
    duration_label,
    empty_note,
    legend,
    log_time_axis,
    plain,
    ratio_label,
    short_ratio,
    so_far,
    speed_note,
    spread,
    thousands,
    titled_figure,
    xy,
)
from launchday.analytics.report import RatioAt, Report, ratio
from launchday.analytics.store_charts import channel_chart

# --- the data behind the charts ----------------------------------------------------


def cumulative_curve(report: Report) -> tuple[list[float], list[int]]:
    """Cumulative orders at each second of the first hour, then at each minute after."""
    times: list[float] = []
    counts: list[int] = []
    total = 0
    for k, n in enumerate(report.series.orders):
        total += n
        times.append(float(k * report.series.step_seconds))
        counts.append(total)
    last = times[-1] if times else -1.0
    total = 0
    for k, n in enumerate(report.series_per_minute.orders):
        total += n
        at = float(k * report.series_per_minute.step_seconds)
        if at > last:
            times.append(at)
            counts.append(total)
    return times, counts


def step_counts(orders: Sequence[int]) -> list[int]:
    """Orders per step as drawn: `[k]` counts those placed from `k` to `k + 1` steps.

    A series' bucket `k` counts orders in `(k - 1, k]` steps and bucket 0 those at the
    opening instant; drawn, the first interval is `[0, 1]` step and holds both.
    """
    return [sum(orders[:2]), *orders[2:]] if orders else []


def aligned_milestones(report: Report, other: Report | None = None) -> list[RatioAt]:
    """This launch against the other at the milestones both reached.

    The report's own comparison when it has one; otherwise worked out from the two
    reports' milestones, aligned on time since each one opened.
    """
    if report.compare is not None:
        return list(report.compare.orders_ratio_at)
    if other is None:
        return []
    theirs = {m.after_seconds: m.orders for m in other.milestones}
    return [
        RatioAt(
            after_seconds=m.after_seconds,
            orders=m.orders,
            other_orders=theirs[m.after_seconds],
            ratio=ratio(m.orders, theirs[m.after_seconds]),
        )
        for m in report.milestones
        if m.after_seconds in theirs
    ]


def other_name(report: Report, other: Report | None) -> str:
    """How the compared launch is called: its name when its report is at hand."""
    if other is not None:
        return other.name
    return report.compare.launch if report.compare is not None else ""


# --- the charts --------------------------------------------------------------------


def cumulative_orders_chart(
    report: Report, *, scenario_milestones: Sequence[tuple[float, int]] | None = None
) -> Figure:
    """Orders placed since opening over launch time, with the milestones marked."""
    fig, ax = titled_figure(
        f"{report.name}: orders since opening",
        f"{thousands(report.orders.total)} orders {so_far(report)}{speed_note(report)};"
        " time after opening on a log scale",
    )
    times, counts = cumulative_curve(report)
    shown = after_first_second(times, counts)
    expected = sorted(scenario_milestones or ())
    if shown:
        ax.plot(*xy(shown), color=ORDERS, linewidth=2.4, label=plain(report.name), zorder=3)
    reached = [m for m in report.milestones if m.after_seconds >= 1]
    if reached:
        ax.scatter(
            [m.after_seconds for m in reached],
            [m.orders for m in reached],
            s=36,
            color=ORDERS,
            edgecolors="white",
            linewidths=1.2,
            zorder=4,
            label="at each milestone",
        )
    if expected:
        ax.scatter(
            [t for t, _ in expected],
            [n for _, n in expected],
            s=70,
            marker="D",
            facecolors="none",
            edgecolors=SCENARIO,
            linewidths=1.4,
            zorder=5,
            label="scenario (expected)",
        )
    end = max([float(report.elapsed_seconds), *(t for t, _ in expected), 10.0])
    log_time_axis(ax, end, [m.after_seconds for m in reached] + [t for t, _ in expected])
    top = max([report.orders.total, *(n for _, n in expected), 1])
    ax.set_ylim(0, top * 1.15)
    count_axis(ax, "orders placed (cumulative)")
    if shown:
        t, n = shown[-1]
        ax.annotate(
            f"{thousands(n)}",
            xy=(t, n),
            xytext=(-6, 10),
            textcoords="offset points",
            ha="right",
            fontsize=LABEL_SIZE,
            fontweight="bold",
            color=ORDERS,
        )
    else:
        empty_note(ax, "no orders yet")
    legend(ax, "upper left")
    return fig


def orders_per_second_chart(report: Report) -> Figure:
    """Orders placed in each second of the first hour, with the peak marked."""
    return _rate_chart(report, report.series.orders, report.series.step_seconds, "second")


def orders_per_minute_chart(report: Report) -> Figure:
    """Orders placed in each minute since opening, with the peak marked."""
    series = report.series_per_minute
    return _rate_chart(report, series.orders, series.step_seconds, "minute")


def locks_chart(report: Report) -> Figure:
    """At each milestone, the orders placed so far: locked, still refundable, cancelled."""
    fig, ax = titled_figure(
        f"{report.name}: locked orders at each milestone",
        "locked: firm, deposit kept; refundable: inside the cooling-off window;"
        " cancelled: deposit refunded",
    )
    milestones = report.milestones
    if not milestones:
        empty_note(ax, "no milestone reached yet")
        ax.set_xticks([])
        count_axis(ax, "orders placed")
        return fig
    xs = list(range(len(milestones)))
    locked = [m.locked for m in milestones]
    cancelled = [m.cancelled for m in milestones]
    refundable = [m.orders - m.locked - m.cancelled for m in milestones]
    width = 0.62
    ax.bar(xs, locked, width, color=LOCKED, label="locked", zorder=3)
    ax.bar(xs, refundable, width, bottom=locked, color=REFUNDABLE, label="refundable", zorder=3)
    above = [a + b for a, b in zip(locked, refundable, strict=True)]
    ax.bar(xs, cancelled, width, bottom=above, color=CANCELLED, label="cancelled", zorder=3)
    top = max(m.orders for m in milestones) or 1
    for x, m in zip(xs, milestones, strict=True):
        share = f"{m.locked / m.orders:.0%} locked" if m.orders else "no orders"
        ax.annotate(
            f"{thousands(m.orders)}\n{share}",
            xy=(x, m.orders),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=NOTE_SIZE if len(xs) <= 10 else NOTE_SIZE - 1.5,
            color=TEXT,
            linespacing=1.15,
        )
    ax.set_xticks(xs, [duration_label(m.after_seconds) for m in milestones])
    ax.set_xlabel("launch time after opening", fontsize=LABEL_SIZE, color=TEXT)
    ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.set_ylim(0, top * 1.22)
    ax.grid(axis="x", visible=False)
    count_axis(ax, "orders placed")
    legend(ax, "upper left", ncols=3)
    return fig


def composition_chart(report: Report) -> Figure:
    """Who registered interest against who bought: first car, new to the brand, iPhone."""
    interest, buyers = report.interest, report.buyers
    fig, ax = titled_figure(
        f"{report.name}: who registered interest, who bought",
        "share of those who answered each question",
    )
    questions = ["first car of the brand", "new to the brand", "iPhone users"]
    groups: list[tuple[str, str, list[float | None]]] = [
        (
            f"registered interest ({thousands(interest.registrations)})",
            INTEREST,
            [interest.first_car_with_brand, interest.new_to_brand, interest.apple_users],
        ),
        (
            f"bought ({thousands(buyers.orders)} orders)",
            ORDERS,
            [buyers.first_car_with_brand, buyers.new_to_brand, buyers.apple_users],
        ),
    ]
    height = 0.36
    rows = range(len(questions))
    for g, (label, color, shares) in enumerate(groups):
        ys = [r + (g - 0.5) * height for r in rows]
        ax.barh(ys, [s or 0.0 for s in shares], height * 0.92, color=color, label=label, zorder=3)
        for y, s in zip(ys, shares, strict=True):
            ax.annotate(
                "no answers" if s is None else f"{s:.1%}",
                xy=(s or 0.0, y),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                fontsize=NOTE_SIZE + 0.5,
                color=MUTED if s is None else TEXT,
            )
    ax.set_yticks(list(rows), questions)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.xaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0%}"))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.8, zorder=0)
    ax.tick_params(axis="y", length=0, labelsize=LABEL_SIZE)
    ax.set_xlabel("share of those who answered", fontsize=LABEL_SIZE, color=TEXT)
    legend(ax, "lower right")
    return fig


def comparison_chart(report: Report, other: Report | None = None) -> Figure | None:
    """This launch's cumulative orders over the other's, aligned on time since opening.

    The ratio is written at each aligned milestone. None when there is nothing to
    compare: no comparison in the report and no other report, or no common milestone.
    """
    aligned = [r for r in aligned_milestones(report, other) if r.after_seconds >= 1]
    if not aligned:
        return None
    theirs = other_name(report, other)
    latest = next((r for r in reversed(aligned) if r.ratio is not None), None)
    headline = (
        f"{ratio_label(latest.ratio)} the orders of {theirs}"
        f" {duration_label(latest.after_seconds)} after opening"
        if latest is not None
        else f"{theirs} had no orders by then"
    )
    fig, ax = titled_figure(
        f"{report.name} against {theirs}",
        f"{headline}; each launch on time since its own opening",
    )
    end = max(float(report.elapsed_seconds), float(aligned[-1].after_seconds), 10.0)
    mine = after_first_second(*cumulative_curve(report), until=end)
    ax.plot(*xy(mine), color=ORDERS, linewidth=2.4, label=plain(report.name), zorder=3)
    if other is not None:
        previous = after_first_second(*cumulative_curve(other), until=end)
        ax.plot(*xy(previous), color=OTHER, linewidth=2.0, label=plain(theirs), zorder=2)
    else:  # only the milestones of the other launch are known
        previous = [(float(r.after_seconds), r.other_orders) for r in aligned]
        ax.plot(
            *xy(previous),
            color=OTHER,
            linewidth=1.6,
            linestyle="--",
            label=f"{plain(theirs)} (at its milestones)",
            zorder=2,
        )
    for color, counts in (
        (ORDERS, [r.orders for r in aligned]),
        (OTHER, [r.other_orders for r in aligned]),
    ):
        ax.scatter(
            [r.after_seconds for r in aligned],
            counts,
            s=36,
            color=color,
            edgecolors="white",
            linewidths=1.2,
            zorder=4,
        )
    log_time_axis(ax, end, [r.after_seconds for r in aligned])
    # Ratio boxes are wider than tick labels: they need more room between them.
    left, right = ax.get_xlim()
    boxed = set(spread([r.after_seconds for r in aligned], left, right, MIN_RATIO_GAP))
    for r in aligned:
        if r.after_seconds not in boxed or r.ratio is None:
            continue
        ax.annotate(
            short_ratio(r.ratio),
            xy=(r.after_seconds, r.orders),
            xytext=(0, 9),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=LABEL_SIZE,
            fontweight="bold",
            color=TEXT,
            bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": SPINE},
            zorder=6,
        )
    counts = [n for _, n in mine] + [n for _, n in previous] + [r.orders for r in aligned]
    ax.set_ylim(0, max([*counts, *(r.other_orders for r in aligned), 1]) * 1.2)
    count_axis(ax, "orders placed (cumulative)")
    legend(ax, "upper left")
    return fig


def delivery_chart(report: Report) -> Figure | None:
    """How many buyers of each variant are told their car comes each week after ordering."""
    delivery = report.delivery
    if delivery is None or not delivery.variants:
        return None
    fig, ax = titled_figure(
        f"{report.name}: delivery promised",
        "orders by the first week of their promised window, after ordering",
    )
    colors = [ORDERS, LOCKED, INTEREST, OTHER, REFUNDABLE, CANCELLED]
    for index, variant in enumerate(delivery.variants):
        weeks = [point.weeks for point in variant.distribution]
        orders = [point.orders for point in variant.distribution]
        label = f"{variant.sku} ({thousands(variant.orders)}, median {variant.median_weeks} weeks)"
        ax.step(
            weeks, orders, where="mid", color=colors[index % len(colors)], label=label, zorder=3
        )
    ax.set_xlabel("weeks after ordering", fontsize=LABEL_SIZE, color=TEXT)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", color=GRID, linewidth=0.8, zorder=0)
    count_axis(ax, "orders")
    legend(ax, "upper left")
    return fig


def report_charts(
    report: Report,
    *,
    other: Report | None = None,
    scenario_milestones: Sequence[tuple[float, int]] | None = None,
) -> dict[str, Figure]:
    """Every chart of the report by file name, in the order a reader meets them."""
    charts = {
        "cumulative_orders": cumulative_orders_chart(
            report, scenario_milestones=scenario_milestones
        ),
        "orders_per_second": orders_per_second_chart(report),
        "orders_per_minute": orders_per_minute_chart(report),
        "locks": locks_chart(report),
        "composition": composition_chart(report),
    }
    delivery = delivery_chart(report)
    if delivery is not None:
        charts["delivery"] = delivery
    channels = channel_chart(report)
    if channels is not None:
        charts["channels"] = channels
    comparison = comparison_chart(report, other)
    if comparison is not None:
        charts["comparison"] = comparison
    return charts


def _rate_chart(report: Report, orders: Sequence[int], step: int, unit: str) -> Figure:
    fig, ax = titled_figure(
        f"{report.name}: orders per {unit}",
        f"orders placed in each {unit} after opening{speed_note(report)}",
    )
    counts = step_counts(orders)
    ends = [(k + 1) * step for k in range(len(counts))]
    short = {"second": "s", "minute": "min"}[unit]
    if len(counts) <= MAX_BARS:
        # Few buckets: bars on a linear axis, in the unit that keeps the numbers small.
        scale, axis_unit = (1, "seconds") if ends and ends[-1] <= 180 else (60, "minutes")
        if ends and ends[-1] > 3 * 3600:
            scale, axis_unit = 3600, "hours"
        starts = [(end - step) / scale for end in ends]
        ax.bar(starts, counts, step / scale * 0.86, align="edge", color=ORDERS, zorder=3)
        ax.set_xlim(0, ends[-1] / scale if ends else 1)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10], integer=True))
        ax.set_xlabel(f"launch time after opening ({axis_unit})", fontsize=LABEL_SIZE, color=TEXT)
    else:
        # Many buckets: the first seconds (or minutes) hold most orders, so a log time
        # axis; each point is the count of the bucket ending there.
        ax.fill_between(ends, counts, color=ORDERS, alpha=0.22, linewidth=0, zorder=2)
        ax.plot(ends, counts, color=ORDERS, linewidth=1.3, zorder=3)
        log_time_axis(
            ax,
            float(ends[-1]),
            [m.after_seconds for m in report.milestones],
            left=float(step),
        )
    peak = max(counts, default=0)
    if peak:
        k = counts.index(peak)
        ax.annotate(
            f"peak: {thousands(peak)} orders/{short}"
            f" ({duration_label(k * step)} to {duration_label((k + 1) * step)} after opening)",
            xy=(0.02, 0.96),
            xycoords="axes fraction",
            ha="left",
            va="top",
            fontsize=LABEL_SIZE,
            fontweight="bold",
            color=TEXT,
        )
        ax.set_ylim(0, peak * 1.15)
    else:
        empty_note(ax, "no orders yet")
    count_axis(ax, f"orders per {unit}")
    return fig
