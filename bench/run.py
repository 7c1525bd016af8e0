"""The benchmark harness of issue 7: every scenario side by side, in one go, on this machine.

    .venv/bin/python bench/run.py [--quick] [--only a,b,b2,c,c2,d,e,f] [--replay]

Scenarios, each against its own fresh server pinned to core 0 while wrk loads it
from core 1 (64 connections, a warm-up run, then 3 runs; medians reported):

  a   a bare FastAPI + pydantic endpoint validating the order body, no storage
  b   the same as raw ASGI + msgspec: the Python ceiling on uvicorn's HTTP protocol
  b2  (b) under launchday's own HTTP protocol (launchday.http.protocol), as launchday runs
  c   launchday's full order path on SQLite (`launchday serve`, admission: null)
  c2  the same through a waiting room: every customer joined first and orders with
      its admission token
  c3  the same with a production plan: every 201 carries the order's delivery promise
  c4  the same with deposits through the rehearsal provider: every 201 is pending_payment
  c5  the same with RS256 tokens of a brand's identity provider (JWKS), each seen once
      with the intent its buyer pays (made after the order's commit: a second write)
  d   the same on PostgreSQL (a throwaway cluster from Debian's binaries, on the server core)
  e   the waiting room's ticket poll
  s   a store's free test-drive slots for 14 days, as a buyer's page lists them
  f   the launch report over a launch of 1,000,000 orders
  replay (with --replay) the YU7's first three minutes at real speed and scale
  replay0 the same night without its production plan: what promising every order costs

The table goes to the terminal and to bench/results/latest.json and latest.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from harness import http_scenarios as http
from harness.context import SECRET, Bench, ScenarioResult
from harness.report_scenario import launch_report
from harness.results import environment, print_table, write
from harness.servers import BENCH, LAUNCHDAY_HTTP, LOAD_CORE
from harness.store_scenarios import free_slots
from harness.tokens import mint_tokens
from harness.wrk import require_wrk
from rich.console import Console

SCENARIOS = ("a", "b", "b2", "c", "c2", "c3", "c4", "c5", "d", "e", "s", "f", "replay", "replay0")
RESULTS = BENCH / "results"
Runner = Callable[[Bench, dict[str, ScenarioResult]], ScenarioResult]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run launchday's benchmark scenarios side by side.",
        epilog="Scenarios: " + ", ".join(SCENARIOS) + " (see the module docstring).",
    )
    parser.add_argument("--quick", action="store_true", help="3 s runs instead of 10 s")
    parser.add_argument("--only", help="comma-separated scenarios to run, e.g. a,b,c")
    parser.add_argument(
        "--replay", action="store_true", help="also replay the YU7's first 3 minutes (3+ min)"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads, all on core 1")
    parser.add_argument("--report-orders", type=int, default=1_000_000, help="size of (f)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return parser.parse_args(argv)


def selected(args: argparse.Namespace) -> list[str]:
    """The scenarios to run, in table order."""
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        unknown = wanted - set(SCENARIOS)
        if unknown:
            raise SystemExit(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    else:
        wanted = set(SCENARIOS) - {"replay", "replay0"}
    if args.replay:
        wanted.add("replay")
    return [name for name in SCENARIOS if name in wanted]


def ensure_baseline_packages(console: Console) -> None:
    """Install bench/requirements.txt into this venv when FastAPI or pydantic is missing:
    they are the baseline's, not launchday's."""
    if all(importlib.util.find_spec(name) for name in ("fastapi", "pydantic")):
        return
    console.print("installing bench/requirements.txt (fastapi, pydantic) for baseline (a)")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "-r", str(BENCH / "requirements.txt")],
        check=True,
    )


def admitted_rate(results: dict[str, ScenarioResult]) -> float:
    """Orders per second to join customers for in (c2): (c)'s rate with headroom."""
    c = results.get("c")
    measured = c.median("requests_per_second") if c else None
    return (measured or http.DEFAULT_ADMITTED_RATE) * http.JOIN_HEADROOM


def runners() -> dict[str, Runner]:
    """Each scenario's function; some read results of the scenarios before them."""

    def replay(bench: Bench, results: dict[str, ScenarioResult]) -> ScenarioResult:
        from harness.replay import replay as run_replay  # imports the simulator

        return run_replay(bench)

    def replay_without_plan(bench: Bench, results: dict[str, ScenarioResult]) -> ScenarioResult:
        from harness.replay import replay as run_replay

        return run_replay(bench, with_plan=False)

    return {
        "a": lambda bench, _: http.baseline(bench, "a", "FastAPI + pydantic", "fastapi_app:app"),
        "b": lambda bench, _: http.baseline(bench, "b", "raw ASGI + msgspec", "raw_asgi:app"),
        "b2": lambda bench, _: http.baseline(
            bench, "b2", "(b) on launchday's HTTP protocol", "raw_asgi:app", LAUNCHDAY_HTTP
        ),
        "c": lambda bench, _: http.order_path(
            bench, "c", "launchday order, SQLite", http.ORDER_RATE_CEILING
        ),
        "c2": lambda bench, results: http.order_path(
            bench, "c2", "(c) + admission token", admitted_rate(results), True
        ),
        "c3": lambda bench, _: http.order_path(
            bench, "c3", "(c) + delivery promise", http.ORDER_RATE_CEILING, plan=True
        ),
        "c4": lambda bench, _: http.order_path(
            bench, "c4", "(c) + deposits to pay", http.ORDER_RATE_CEILING, payments=True
        ),
        "c5": lambda bench, _: http.order_path(
            bench, "c5", "(c) + RS256 tokens (JWKS)", http.ORDER_RATE_CEILING, issuer=True
        ),
        "d": lambda bench, _: http.postgres(bench, http.ORDER_RATE_CEILING),
        "e": lambda bench, _: http.ticket_poll(bench),
        "s": lambda bench, _: free_slots(bench),
        "f": lambda bench, _: launch_report(bench),
        "replay": replay,
        "replay0": replay_without_plan,
    }


def make_bench(
    args: argparse.Namespace, console: Console, scratch: Path, names: list[str]
) -> Bench:
    """Settings for this invocation, with the customer tokens every scenario draws on."""
    draft = Bench(
        console=console,
        scratch=scratch,
        tokens=scratch / "tokens.txt",
        token_count=0,
        warmup_seconds=2 if args.quick else 5,
        seconds=3 if args.quick else 10,
        repeats=3,
        connections=args.connections,
        threads=args.threads,
        report_orders=args.report_orders,
    )
    needs_tokens = any(name in names for name in ("a", "b", "c", "c2", "c3", "c4", "d", "e", "s"))
    count = draft.tokens_needed(http.ORDER_RATE_CEILING) if needs_tokens else 0
    if count:
        started = time.perf_counter()
        mint_tokens(draft.tokens, count, SECRET)
        console.print(f"minted {count:,} customer tokens in {time.perf_counter() - started:.1f} s")
    return dataclasses.replace(draft, token_count=count)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:  # a log file or a pipe: room for the whole table
        console = Console(width=140)
    names = selected(args)
    missing = require_wrk()
    if missing and set(names) - {"f"}:
        console.print(f"[red]{missing}[/red]")
        return 2
    if "a" in names:
        ensure_baseline_packages(console)
    scratch = Path(tempfile.mkdtemp(prefix="launchday-bench-"))
    bench = make_bench(args, console, scratch, names)
    # From here this process is a client: keep it off the servers' core.
    os.sched_setaffinity(0, {LOAD_CORE})
    results: dict[str, ScenarioResult] = {}
    table = runners()
    for name in names:
        console.rule(f"scenario {name}")
        try:
            results[name] = table[name](bench, results)
        except Exception as error:  # one broken scenario must not hide the others' figures
            traceback.print_exc()
            results[name] = ScenarioResult(name, name, problems=[f"did not run: {error!r}"])
    print_table(console, results)
    paths = write(RESULTS, results, environment(bench, "quick" if args.quick else "full"))
    console.print(f"written: {', '.join(str(p.relative_to(BENCH.parent)) for p in paths)}")
    if args.keep:
        console.print(f"scratch kept: {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if any(result.problems for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
