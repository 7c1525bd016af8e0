"""How a rehearsal looks in a terminal: Rich progress while it runs, a table at the end."""

from __future__ import annotations

import time
from datetime import timedelta

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from launchday.sim.rehearsal import RehearsalResult
from launchday.sim.replay_stats import ReplayStats


def clock_text(seconds: float) -> str:
    """Launch time as h:mm:ss."""
    return str(timedelta(seconds=int(seconds)))


class ReplayProgress:
    """Progress bars for launch time and orders, with the current rate and rejections."""

    def __init__(self, console: Console, until: float, orders: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(bar_width=32),
            TextColumn("{task.fields[detail]}"),
            console=console,
            refresh_per_second=4,
        )
        self._until = until
        self._launch = self.progress.add_task("launch time", total=until, detail="")
        self._orders = self.progress.add_task("orders", total=max(orders, 1), detail="")
        self._refused: TaskID = self.progress.add_task("refused", total=None, detail="none")
        self._queue: TaskID | None = None
        self._phase = self.progress.add_task("phase", total=None, detail="starting")
        self._last = (time.monotonic(), 0)
        self._rate = 0.0

    def __enter__(self) -> ReplayProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, phase: str, stats: ReplayStats | None) -> None:
        self.progress.update(self._phase, detail=phase)
        if stats is None:
            return
        now = time.monotonic()
        then, acked_then = self._last
        if now - then >= 0.5:
            self._rate = (stats.orders_acked - acked_then) / (now - then)
            self._last = (now, stats.orders_acked)
        elapsed = min(stats.launch_elapsed, self._until)
        self.progress.update(
            self._launch,
            completed=elapsed,
            detail=f"{clock_text(elapsed)} / {clock_text(self._until)}",
        )
        self.progress.update(
            self._orders,
            completed=stats.orders_acked,
            detail=(
                f"{stats.orders_acked:,} acknowledged, {stats.sent:,} actions sent"
                f"  {self._rate:,.0f}/s  late {stats.late:,}"
            ),
        )
        refused = ", ".join(f"{code} {n:,}" for code, n in stats.refusals.most_common()) or "none"
        self.progress.update(self._refused, detail=refused)
        if stats.queue_joined:
            if self._queue is None:
                self._queue = self.progress.add_task("waiting room", total=1, detail="")
            waiting = "" if stats.queue_waiting is None else f", {stats.queue_waiting:,} waiting"
            counts = f"{stats.queue_admitted:,} admitted of {stats.queue_joined:,} joined"
            self.progress.update(
                self._queue,
                total=max(stats.queue_joined, 1),
                completed=stats.queue_admitted,
                detail=counts + waiting,
            )


def milestone_table(result: RehearsalResult) -> Table:
    """Each scenario milestone times scale beside the replayed figure and the difference."""
    table = Table(title=f"{result.slug}: scenario x {result.options.scale:g} vs replayed")
    for heading in ("after", "what", "scenario", "replayed", "difference", ""):
        table.add_column(heading, justify="right" if heading != "what" else "left")
    for check in result.checks:
        share = check.difference / check.expected if check.expected else 0.0
        table.add_row(
            clock_text(check.after_seconds),
            check.kind,
            f"{check.expected:,}",
            f"{check.replayed:,}",
            f"{check.difference:+,} ({share:+.1%})",
            "ok" if check.within_tolerance else "[red]off[/red]",
        )
    return table


def quote_table(result: RehearsalResult) -> Table:
    """What a new order placed on the day the lead times were reported is quoted, beside
    them (weeks after placement)."""
    production = result.options.scenario.production
    day = "" if production is None else f" placed on {production.quotes_on}"
    table = Table(title=f"{result.slug}: delivery quoted to a new order{day} vs published")
    for heading in ("variant", "published", "quoted", "difference", ""):
        table.add_column(heading, justify="left" if heading == "variant" else "right")
    for said in result.quotes:
        quoted = "beyond the plan" if said.quoted is None else f"{said.quoted[0]}-{said.quoted[1]}"
        difference = "" if said.difference is None else f"{said.difference:+d} weeks"
        table.add_row(
            said.sku,
            f"{said.published[0]}-{said.published[1]} weeks",
            quoted,
            difference,
            "ok" if said.within_tolerance else "[red]off[/red]",
        )
    return table


def summary_lines(result: RehearsalResult) -> list[str]:
    """The replay's own account: what it sent, what the server kept, and whether it kept up."""
    stats = result.stats
    options = result.options
    lines = [
        f"speed x{options.speed:g}, scale {options.scale:g}, seed {options.seed}:"
        f" {result.registrations:,} registrations imported,"
        f" {stats.orders_acked:,} orders acknowledged, {result.stored_orders:,} stored,"
        f" {stats.locks:,} early locks, {stats.cancels:,} cancellations,"
        f" {stats.fallbacks:,} buyers switched variant after sold_out,"
        f" {stats.skipped:,} locks or cancels skipped (order refused)",
    ]
    if options.pay:
        lines.append(
            f"deposits paid over HTTP through the rehearsal provider: {stats.payments:,} of"
            f" {stats.orders_acked:,} orders ({stats.paid_minor:,} in minor units)"
        )
    if stats.queue_joined:
        lines.append(
            f"waiting room at {options.admission_rate:g}/s, tokens for"
            f" {options.token_ttl_seconds:,} s, rejoin grace {options.grace_seconds:,} s:"
            f" {stats.queue_joined:,} joined, {stats.queue_admitted:,} admitted,"
            f" {stats.queue_polls:,} polls; {stats.queue_lapses:,} let their admission lapse,"
            f" {stats.queue_rejoined:,} rejoins"
        )
        chance = (result.report.get("waiting_room") or {}).get("second_chance")
        if chance:
            lines.append(
                f"second chance, as stored: {chance['lapsed']:,} admissions lapsed,"
                f" {chance['rejoined']:,} came back ({chance['kept_place']:,} kept their place,"
                f" {chance['back_of_queue']:,} to the back), {chance['came_back_and_ordered']:,}"
                " then ordered"
            )
    if result.kept_up:
        lines.append(
            f"kept up with the schedule: p99 lag {stats.lag_quantile(0.99) * 1000:.0f} ms real;"
            f" sent {stats.lead * 1000:.1f} ms early to offset the time to reach the server"
            + (
                f", waiting-room journeys {stats.queue_lead * 1000:.1f} ms early"
                if stats.queue_joined
                else ""
            )
        )
    else:
        lines.append(
            f"fell behind the schedule: {stats.late:,} of {stats.sent:,} actions sent late,"
            f" up to {stats.max_lag:.2f} s real ({stats.max_lag * options.speed:,.0f} s launch"
            " time); the milestones above include that drift"
        )
        lines.append(f"late, by real seconds after the opening: {stats.late_spans()}")
    return lines
