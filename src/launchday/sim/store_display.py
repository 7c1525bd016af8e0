"""What a rehearsal's stores did, as `launchday demo` prints it: the network put up,
orders by channel, the leading stores, and the test drives booked."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from launchday.sim.rehearsal import RehearsalResult

LEADERS = 5


def store_table(result: RehearsalResult) -> Table | None:
    """The stores that placed the most orders, as the report counts them."""
    figures = result.report.get("stores")
    if not figures:
        return None
    table = Table(title=f"{result.slug}: the leading stores (of the report's leaderboard)")
    for heading in ("store", "city", "orders placed", "test drives booked"):
        table.add_column(heading, justify="left" if heading in ("store", "city") else "right")
    for row in figures["stores"][:LEADERS]:
        table.add_row(row["name"], row["city"], f"{row['orders']:,}",
                      f"{row['test_drives_booked']:,}")  # fmt: skip
    return table


def store_lines(result: RehearsalResult) -> list[str]:
    """The network against the scenario's published counts, the channels, the bookings."""
    retail, outcome = result.options.scenario.retail, result.retail
    if retail is None or outcome is None:
        return []
    figures: dict[str, Any] = result.report.get("stores") or {}
    channels = ", ".join(
        f"{c['channel']} {c['orders']:,}" for c in figures.get("channels", []) if c["orders"]
    )
    lines = [
        f"stores: {outcome.stores:,} in {outcome.cities:,} cities, generated from the"
        f" scenario's counts ({retail.sales_stores:,} sales, {retail.delivery_centres:,}"
        f" delivery, {retail.service_centres:,} service, {retail.cities:,} cities);"
        f" staff of {outcome.staff_keys:,} stores placed {outcome.walk_ins:,} walk-in orders",
        f"orders by channel, as stored: {channels or 'none'}",
        f"test drives booked and confirmed: {outcome.booked_before:,} before the opening,"
        f" {outcome.booked_after:,} after it",
    ]
    if outcome.refused:
        refused = ", ".join(f"{code} {n:,}" for code, n in sorted(outcome.refused.items()))
        lines.append(f"test drives not booked: {refused}")
    return lines
