"""What every chart of the report shares: its look, numbers as people read them, the
axes and notes the charts draw, and PNG and SVG bytes from a figure."""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final, Literal

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from launchday.analytics.report import Report

# --- the look ----------------------------------------------------------------------

ORDERS: Final = "#e8590c"  # this launch, orders placed
OTHER: Final = "#868e96"  # the launch compared with
SCENARIO: Final = "#212529"  # the figures a rehearsal replays
LOCKED: Final = "#1864ab"
REFUNDABLE: Final = "#a5d8ff"
CANCELLED: Final = "#ced4da"
INTEREST: Final = "#4dabf7"
TEXT: Final = "#212529"
MUTED: Final = "#6c757d"
GRID: Final = "#e9ecef"
SPINE: Final = "#adb5bd"

FIGSIZE: Final = (10.0, 5.4)  # inches: fits a laptop screen beside nothing else
PNG_DPI: Final = 144  # 1440 x 778 pixels: sharp on a high-density screen
TITLE_SIZE: Final = 15.0
SUBTITLE_SIZE: Final = 10.5
LABEL_SIZE: Final = 10.5
TICK_SIZE: Final = 9.5
NOTE_SIZE: Final = 9.0

# matplotlib's own default would put its version and a URL in every file.
PNG_METADATA: Final = {"Software": "launchday"}
# No date (files must not change between runs), and none of the Dublin Core entries
# that would put URLs in a page that must not reference the network.
SVG_METADATA: Final = {"Date": None, "Creator": None, "Format": None, "Type": None}

# Milestone labels closer than this (a fraction of the axis width) would overlap.
MIN_LABEL_GAP: Final = 0.045
# Above this many buckets a rate is drawn as a filled line rather than as bars.
MAX_BARS: Final = 180
MIN_RATIO_GAP: Final = 0.075

_svg_lock = threading.Lock()


# --- numbers as people read them ---------------------------------------------------


def duration_label(seconds: float) -> str:
    """Time after opening as a launch team says it: 10s, 2m, 1h30m, 24h, 7d."""
    if seconds <= 0:
        return "0"
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if whole <= 72 * 3600:
        hours, rest = divmod(whole, 3600)
        return f"{hours}h{rest // 60}m" if rest // 60 else f"{hours}h"
    days, rest = divmod(whole, 86_400)
    return f"{days}d{rest // 3600}h" if rest // 3600 else f"{days}d"


def thousands(value: float) -> str:
    """A count with thousands separators: 289,000."""
    return f"{value:,.0f}"


def ratio_label(value: float | None) -> str:
    """A ratio as the launch room shows it: 3.10×, or - when undefined."""
    return "-" if value is None else f"{value:.2f}×"


def plain(text: str) -> str:
    """`text` drawn as written: a `$` in a launch name must not start mathtext."""
    return text.replace("$", r"\$")


# --- files ---------------------------------------------------------------------------


def png_bytes(fig: Figure) -> bytes:
    """The figure as a PNG, the same bytes for the same figure."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, metadata=dict(PNG_METADATA))
    return buffer.getvalue()


def svg_text(fig: Figure, name: str) -> str:
    """The figure as a standalone SVG document with real text and ids unique to `name`.

    The ids are salted with `name`, so several charts can sit inline in one page.
    """
    FigureCanvasAgg(fig)  # an Agg canvas first: savefig switches to SVG for the write
    buffer = io.StringIO()
    with svg_settings(name):
        fig.savefig(buffer, format="svg", metadata={**SVG_METADATA, "Title": fig.get_label()})
    return buffer.getvalue()


@contextmanager
def svg_settings(name: str) -> Iterator[None]:
    # The SVG writer reads these from the global rcParams only; the lock keeps two of
    # our writes from seeing each other's salt.
    with (
        _svg_lock,
        matplotlib.rc_context(
            {
                "svg.hashsalt": f"launchday-{name}",
                "svg.fonttype": "none",  # text stays text: searchable, small, crisp
                "svg.id": f"chart-{name}",
            }
        ),
    ):
        yield


# --- the common parts ----------------------------------------------------------------


def titled_figure(title: str, subtitle: str) -> tuple[Figure, Axes]:
    """A figure with one axes, a bold title and a muted subtitle above it, both flush left."""
    fig = Figure(figsize=FIGSIZE, dpi=100, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    fig.set_label(title)  # the SVG's <title>: its accessible name
    ax = fig.add_subplot()
    ax.set_title(
        plain(title), loc="left", fontsize=TITLE_SIZE, fontweight="bold", color=TEXT, pad=28
    )
    ax.annotate(
        plain(subtitle),
        xy=(0, 1),
        xycoords="axes fraction",
        xytext=(0, 10),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=SUBTITLE_SIZE,
        color=MUTED,
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(SPINE)
    ax.tick_params(labelsize=TICK_SIZE, labelcolor=TEXT, color=SPINE, which="both")
    ax.grid(axis="y", color=GRID, linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    return fig, ax


def so_far(report: Report) -> str:
    if report.elapsed_seconds == 0:
        return "at opening"
    return f"in {duration_label(report.elapsed_seconds)} of launch time"


def speed_note(report: Report) -> str:
    if report.time_scale == 1:
        return ""
    return f" (a rehearsal at {report.time_scale:g}× speed)"


def count_axis(ax: Axes, label: str) -> None:
    ax.set_ylabel(label, fontsize=LABEL_SIZE, color=TEXT)
    ax.yaxis.set_major_locator(
        MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True, min_n_ticks=3)
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: thousands(v)))
    # A handful of orders (or none) would otherwise get fractional, repeated ticks.
    ax.set_ylim(0, max(ax.get_ylim()[1], 5))


def log_time_axis(
    ax: Axes, end: float, marks: Sequence[float], *, left: float = 1.0, gap: float = MIN_LABEL_GAP
) -> set[float]:
    """A log time axis from `left` to `end`, ticked at `marks`; returns the marks labelled.

    A mark too close to the one before it (by `gap`, a fraction of the width) is left
    unlabelled so that labels never overlap.
    """
    right = max(end, left * 10) * 1.25
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    labelled = spread([left, *marks], left, right, gap)
    ax.xaxis.set_major_locator(FixedLocator(labelled))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: duration_label(v)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(axis="x", color=GRID, linewidth=0.8, linestyle=":", zorder=0)
    ax.set_xlabel("launch time after opening (log scale)", fontsize=LABEL_SIZE, color=TEXT)
    return set(labelled)


def spread(marks: Sequence[float], left: float, right: float, gap: float) -> list[float]:
    """The marks inside [left, right], leaving out each one closer than `gap` to the last."""
    span = math.log10(right / left)
    kept: list[float] = []
    for mark in sorted(set(marks)):
        if not left <= mark <= right:
            continue
        if kept and math.log10(mark / kept[-1]) / span < gap:
            continue
        kept.append(mark)
    return kept


def empty_note(ax: Axes, message: str) -> None:
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=LABEL_SIZE + 1,
        color=MUTED,
    )


def legend(ax: Axes, loc: Literal["upper left", "lower right"], ncols: int = 1) -> None:
    handles, _labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc=loc, ncols=ncols, frameon=False, fontsize=LABEL_SIZE - 0.5)


def after_first_second(
    times: Sequence[float], counts: Sequence[int], *, until: float = math.inf
) -> list[tuple[float, int]]:
    """The points a log time axis can show: from 1 s after opening up to `until`."""
    return [(t, n) for t, n in zip(times, counts, strict=True) if 1 <= t <= until]


def short_ratio(value: float) -> str:
    """A ratio short enough for a label on the chart: 3.1×, 43×."""
    return f"{value:.1f}×" if value < 10 else f"{value:.0f}×"


def xy(points: Sequence[tuple[float, int]]) -> tuple[list[float], list[int]]:
    return [t for t, _ in points], [n for _, n in points]
