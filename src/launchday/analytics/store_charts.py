"""The stores' chart in the report: orders by channel, as bars (matplotlib, built as the
other charts are: launchday.analytics.charts)."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from launchday.analytics.chart_parts import (
    GRID,
    INTEREST,
    LABEL_SIZE,
    LOCKED,
    NOTE_SIZE,
    ORDERS,
    OTHER,
    TEXT,
    empty_note,
    so_far,
    thousands,
    titled_figure,
)
from launchday.analytics.report import Report

# Each channel its own colour, the store's the report's orange: the section is about it.
COLOURS = {"app": INTEREST, "web": LOCKED, "store": ORDERS, "partner": OTHER}


def channel_chart(report: Report) -> Figure | None:
    """Orders placed by channel, with each count and share written at its bar."""
    stores = report.stores
    if stores is None:
        return None
    fig, ax = titled_figure(
        f"{report.name}: orders by channel",
        f"orders placed {so_far(report)}, cancelled ones included",
    )
    channels = stores.channels
    rows = range(len(channels))
    counts = [c.orders for c in channels]
    colours = [COLOURS.get(c.channel, OTHER) for c in channels]
    ax.barh(list(rows), counts, 0.62, color=colours, zorder=3)
    top = max(counts, default=0)
    for row, channel in zip(rows, channels, strict=True):
        share = "" if channel.share is None else f" ({channel.share:.1%})"
        ax.annotate(
            f"{thousands(channel.orders)}{share}",
            xy=(channel.orders, row),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            fontsize=NOTE_SIZE + 1,
            color=TEXT,
        )
    ax.set_yticks(list(rows), [c.channel for c in channels])
    ax.invert_yaxis()
    # Room on the right for the longest label.
    ax.set_xlim(0, max(top, 4) * 1.25)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.xaxis.set_major_formatter(lambda v, _pos: thousands(v))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.8, zorder=0)
    ax.tick_params(axis="y", length=0, labelsize=LABEL_SIZE)
    ax.set_xlabel("orders placed", fontsize=LABEL_SIZE, color=TEXT)
    if not top:
        empty_note(ax, "no orders yet")
    return fig
