"""Scenario (f): the launch report over a launch of a million orders.

The database comes from bench/report_bench.py's builder (a YU7-like night straight
into SQLite). The report is timed twice: in-process, as report_bench.py does, and
through `launchday serve`, as an admin asks for it; the server's memory is read
after it has served the report.
"""

from __future__ import annotations

import statistics
import time

import httpx
import report_bench

from harness.context import ADMIN_KEY, SECRET, Bench, ScenarioResult
from harness.servers import launchday_server
from launchday.cli import free_port

SLUG = "bench-yu7"
COMPARE = "bench-su7"


def launch_report(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("f", f"report, {bench.report_orders:,} orders")
    db = bench.scratch / "report.db"
    started = time.perf_counter()
    report_bench.build_database(db, bench.report_orders)
    built = time.perf_counter() - started
    bench.console.print(f"  f: built {bench.report_orders:,} orders in {built:.1f} s")
    in_process = report_bench.time_report(db, None, runs=bench.repeats)
    compared = report_bench.time_report(db, COMPARE, runs=bench.repeats)
    over_http = served_report_seconds(bench, result)
    result.figures.update(
        orders=bench.report_orders,
        build_seconds=round(built, 1),
        report_seconds_in_process=[round(t, 3) for t in in_process],
        report_seconds_compare=[round(t, 3) for t in compared],
        report_seconds_http=[round(t, 3) for t in over_http],
        median_seconds=round(statistics.median(over_http), 3),
    )
    result.notes.append(
        f"report median {statistics.median(over_http):.2f} s over HTTP,"
        f" {statistics.median(in_process):.2f} s in-process"
        f" ({statistics.median(compared):.2f} s with ?compare)"
    )
    return result


def served_report_seconds(bench: Bench, result: ScenarioResult) -> list[float]:
    """Seconds per GET of the report from `launchday serve` on the built database."""
    server = launchday_server(
        "f",
        bench.scratch / "report.db",
        free_port(),
        bench.scratch / "f.server.log",
        ADMIN_KEY,
        SECRET,
    )
    timings = []
    try:
        server.wait_ready()
        url = f"{server.base_url}/api/v1/launches/{SLUG}/report"
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(timeout=120) as client:
            for _ in range(bench.repeats):
                started = time.perf_counter()
                answer = client.get(url, headers=headers)
                timings.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    result.problems.append(f"report: {answer.status_code} {answer.text[:200]}")
                elif answer.json()["orders"]["total"] != bench.report_orders:
                    result.problems.append(f"report counts {answer.json()['orders']['total']}")
        result.memory_mb = server.memory_mb()
    finally:
        server.stop()
        result.problems.extend(f"server log: {line}" for line in server.log_alarms())
    return timings
