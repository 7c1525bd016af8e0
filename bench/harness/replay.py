"""The replay: the YU7's first three minutes at real speed and real scale.

200,000 orders (and the early locks of the same minutes) sent on the scenario's
schedule by the rehearsal's load driver (`launchday.sim`) against one
`launchday serve` on SQLite, pinned as the other scenarios are. It reports whether
the driver kept to the schedule (its lag), the order latency the driver saw, the
loss check (stored against acknowledged) and how busy each core was.
"""

from __future__ import annotations

import asyncio
import resource
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar

from harness.context import ADMIN_KEY, SECRET, Bench, ScenarioResult
from harness.servers import Server, launchday_server
from launchday.cli import free_port
from launchday.cli.rehearse import token_minter
from launchday.sim import rehearsal
from launchday.sim.admission_plan import peak_rate
from launchday.sim.display import ReplayProgress, milestone_table, summary_lines
from launchday.sim.driver import LoadDriver
from launchday.sim.rehearsal import RehearsalResult, plan_options, plan_rehearsal
from launchday.sim.replay_stats import ReplayStats
from launchday.sim.scenario_file import load_scenario

SCENARIO = "yu7-2025"
UNTIL_SECONDS = 180.0
CONNECTIONS = 256
SLUG = "yu7-replay"
# The first seconds after opening, where the YU7's arrivals peak (about 6,800/s).
CRUSH_SECONDS = 30.0


class TimedLoadDriver(LoadDriver):
    """The rehearsal's driver, timing each call it makes (retries included)."""

    seconds: ClassVar[dict[str, list[float]]] = {}  # "order" or "change" -> request seconds

    async def request(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        started = time.perf_counter()
        try:
            return await super().request(method, path, **kw)
        finally:
            kind = "order" if path.endswith("/orders") else "change" if "/orders/" in path else ""
            if kind:
                self.seconds.setdefault(kind, []).append(time.perf_counter() - started)


@contextmanager
def timed_driver() -> Iterator[dict[str, list[float]]]:
    """`rehearse` with TimedLoadDriver in place of LoadDriver; yields the timings.

    `rehearse` makes its own driver, and timing is a benchmark's concern, not the
    driver's: so the class is swapped in its module for the replay only.
    """
    TimedLoadDriver.seconds = {}
    rehearsal.LoadDriver = TimedLoadDriver  # type: ignore[attr-defined]
    try:
        yield TimedLoadDriver.seconds
    finally:
        rehearsal.LoadDriver = LoadDriver  # type: ignore[attr-defined]


class CoreMeter:
    """CPU seconds used by the server and by this process (the driver) from the opening
    on, sampled at every progress tick, to tell which core was the limit and when."""

    def __init__(self, server: Server) -> None:
        self.server = server
        # (launch seconds elapsed, real seconds, server CPU seconds, driver CPU seconds)
        self.samples: list[tuple[float, float, float, float]] = []
        self.done = False

    def sample(self, phase: str, stats: ReplayStats | None) -> None:
        if self.done or stats is None or stats.launch_elapsed <= 0:
            return
        own = resource.getrusage(resource.RUSAGE_SELF)
        self.samples.append(
            (
                stats.launch_elapsed,
                time.monotonic(),
                self.server.cpu_seconds(),
                own.ru_utime + own.ru_stime,
            )
        )
        self.done = phase != "replaying"

    def busy(self, within: float | None = None) -> dict[str, float]:
        """Share of one core used by the server and the driver, over the whole replay
        or its first `within` launch seconds."""
        window = [s for s in self.samples if within is None or s[0] <= within]
        if len(window) < 2:
            return {}
        first, last = window[0], window[-1]
        wall = last[1] - first[1]
        return {
            "seconds": round(wall, 1),
            "server": round((last[2] - first[2]) / wall, 2),
            "driver": round((last[3] - first[3]) / wall, 2),
        }


def stored_orders(db_path: str) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])


def replay(bench: Bench, with_plan: bool = True) -> ScenarioResult:
    """Run the replay and summarise it as a row of the table. Without its production
    plan (`replay0`), the same night shows what promising every order costs."""
    if with_plan:
        result = ScenarioResult("replay", "replay: YU7 first 3 min")
    else:
        result = ScenarioResult("replay0", "replay without its plan")
    scenario = load_scenario(SCENARIO)
    if not with_plan:
        scenario = replace(scenario, production=None)
    options = plan_options(scenario, speed=1, scale=1, until=UNTIL_SECONDS, waiting_room=False)
    options = replace(options, connections=CONNECTIONS, slug=SLUG)
    # The night's orders as they came, all online: the stores' set-up and test drives
    # (thousands of requests before and after) are rehearsed by the demo, not timed here.
    plan = replace(plan_rehearsal(options), retail=None)
    # Sign every token before the opening: the driver's core is for sending.
    mint = token_minter(SECRET)
    tokens = {event.customer.id: mint(event.customer.id) for event in plan.events}
    db = bench.scratch / f"{result.key}.db"
    server = launchday_server(
        result.key, db, free_port(), bench.scratch / f"{result.key}.server.log", ADMIN_KEY, SECRET
    )
    try:
        server.wait_ready()
        meter = CoreMeter(server)
        with (
            timed_driver() as timings,
            ReplayProgress(bench.console, options.until, plan.orders) as progress,
        ):

            def tick(phase: str, stats: ReplayStats | None) -> None:
                meter.sample(phase, stats)
                progress.update(phase, stats)

            rehearsed = asyncio.run(
                rehearsal.rehearse(server.base_url, ADMIN_KEY, tokens.__getitem__, plan, tick)
            )
        result.memory_mb = server.memory_mb()
        in_db = stored_orders(str(db))
    finally:
        server.stop()
        result.problems.extend(f"server log: {line}" for line in server.log_alarms())
    bench.console.print(milestone_table(rehearsed))
    for line in summary_lines(rehearsed):
        bench.console.print(line)
    busy = {"whole": meter.busy(), "crush": meter.busy(within=CRUSH_SECONDS)}
    summarise(result, rehearsed, timings, busy, in_db)
    return result


def quantile(values: list[float], q: float) -> float:
    """The q-quantile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(
    result: ScenarioResult,
    rehearsed: RehearsalResult,
    timings: dict[str, list[float]],
    busy: dict[str, dict[str, float]],
    in_db: int,
) -> None:
    """The replay's figures, notes and problems on its row."""
    stats = rehearsed.stats
    orders = timings.get("order", [0.0])
    series = rehearsed.report.get("series", {}).get("orders", [])
    errors = sum(stats.refusals.values()) + stats.transport_errors
    wall = busy["whole"].get("seconds") or UNTIL_SECONDS
    # No requests/s here: the schedule sets the rate; the notes give the peak reached.
    result.measured = {
        "p50_ms": statistics.median(orders) * 1000,
        "p99_ms": quantile(orders, 0.99) * 1000,
        "errors": errors,
    }
    result.figures.update(
        requests_per_second_mean=round(sum(len(t) for t in timings.values()) / wall, 1),
        kept_up=rehearsed.kept_up,
        late=stats.late,
        sent=stats.sent,
        lag_p99_ms=round(stats.lag_quantile(0.99) * 1000, 1),
        max_lag_s=round(stats.max_lag, 3),
        orders_acknowledged=stats.orders_acked,
        orders_stored_report=rehearsed.stored_orders,
        orders_stored_db=in_db,
        locks=stats.locks,
        refusals=dict(stats.refusals),
        transport_errors=stats.transport_errors,
        retries=stats.retries,
        peak_stored_per_second=max(series, default=0),
        change_p99_ms=round(quantile(timings.get("change", [0.0]), 0.99) * 1000, 1),
        cores_busy=busy,
    )
    kept = (
        "kept up"
        if rehearsed.kept_up
        else f"fell behind: {stats.late:,} actions sent late ({stats.late_spans()})"
    )
    result.notes.append(
        f"{kept} (lag p99 {stats.lag_quantile(0.99) * 1000:.0f} ms, max {stats.max_lag:.2f} s);"
        f" peak {max(series, default=0):,} orders stored in one second"
        f" (the scenario's: {peak_rate(rehearsed.options.scenario):,.0f})"
    )
    lost = stats.orders_acked - in_db
    result.notes.append(
        f"loss check {'ok' if lost == 0 else 'FAILED'}: {in_db:,} stored,"
        f" {stats.orders_acked:,} acknowledged"
    )
    for name, label in (("crush", f"first {CRUSH_SECONDS:g} s"), ("whole", "whole replay")):
        if busy[name]:
            server, driver = busy[name]["server"], busy[name]["driver"]
            result.notes.append(f"cores busy, {label}: server {server:.0%}, driver {driver:.0%}")
    result.problems.extend(rehearsed.problems)
    if in_db != stats.orders_acked:
        result.problems.append(f"{stats.orders_acked} orders acknowledged, {in_db} in the database")
