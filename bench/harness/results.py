"""The table: printed with Rich, written as JSON and Markdown, and the issue's targets.

Ratios are to (a) and (b) measured in the same invocation, side by side: absolute
figures drift on a shared machine, ratios hold.
"""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.context import Bench, ScenarioResult

COLUMNS = ("scenario", "requests/s", "p50 ms", "p99 ms", "errors", "× (a)", "× (b)", "RSS MB")
# Past this share of the load core, wrk may be what limits a run: say so.
LOAD_CORE_WARNING = 0.9
# Past this share of a core used by other processes during a run, say the run was disturbed.
OTHERS_WARNING = 0.1


def ratio(result: ScenarioResult, base: ScenarioResult | None) -> float | None:
    """requests/s of `result` over those of `base`, when both were measured by wrk
    under the same load (the replay's load is a schedule, not a closed loop)."""
    if not result.runs:
        return None
    mine = result.median("requests_per_second")
    theirs = base.median("requests_per_second") if base else None
    return mine / theirs if mine and theirs else None


def _number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def rows(results: dict[str, ScenarioResult]) -> list[tuple[list[str], str]]:
    """The table's cells per scenario, and its notes (one string)."""
    a, b = results.get("a"), results.get("b")
    out = []
    for result in results.values():
        name = f"({result.key}) {result.title}" if len(result.key) <= 2 else result.title
        if result.skipped:
            out.append(([name, result.skipped, "", "", "", "", "", ""], ""))
            continue
        to_a, to_b = ratio(result, a), ratio(result, b)
        memory = result.memory_mb
        cells = [
            name,
            _number(result.median("requests_per_second")),
            _number(result.median("p50_ms"), 2),
            _number(result.median("p99_ms"), 2),
            _number(result.errors),
            "—" if to_a is None else f"{to_a:.2f}",
            "—" if to_b is None else f"{to_b:.2f}",
            "—" if memory is None else f"{memory[0]:.0f} (peak {memory[1]:.0f})",
        ]
        out.append((cells, "; ".join(notes_of(result))))
    return out


def notes_of(result: ScenarioResult) -> list[str]:
    """What the table's figures leave out: checks, warnings, problems."""
    notes = list(result.notes)
    busy = max((run.load_core_busy for run in result.runs), default=0.0)
    if busy > LOAD_CORE_WARNING:
        notes.append(f"wrk used {busy:.0%} of its core: the load may have set the pace")
    others = max((run.others_busy for run in result.runs), default=0.0)
    if others > OTHERS_WARNING:
        notes.append(f"other processes used up to {others:.0%} of a core: figures disturbed")
    return notes + [f"PROBLEM: {problem}" for problem in result.problems[:5]]


def targets(results: dict[str, ScenarioResult]) -> list[dict[str, Any]]:
    """Issue 7's targets against what was measured (met: None when not measured)."""
    found: list[dict[str, Any]] = []

    def add(target: str, measured: str | None, met: bool | None) -> None:
        found.append({"target": target, "measured": measured or "not measured", "met": met})

    def bound(target: str, value: float | None, unit: str, limit: float, above: bool) -> None:
        """A figure that must stay above (or below) `limit`."""
        if value is None:
            add(target, None, None)
        else:
            add(target, f"{value:.2f}{unit}", value >= limit if above else value < limit)

    a, b, c, e, f = (results.get(key) for key in "abcef")
    bound("(c) ≥ 1.5 × (a) requests/s", ratio(c, a) if c else None, " ×", 1.5, above=True)
    p99 = c.median("p99_ms") if c else None
    bound("(c) p99 < 50 ms at 64 connections", p99, " ms", 50, above=False)
    if c and c.runs:
        loss = next((note for note in c.notes if note.startswith("loss check")), "")
        add(
            "(c) zero errors, zero loss",
            f"{c.errors} errors; {loss}",
            not c.errors and not c.problems,
        )
    bound("(e) ≥ 0.8 × (b) requests/s", ratio(e, b) if e else None, " ×", 0.8, above=True)
    seconds = f.figures.get("median_seconds") if f else None
    bound("(f) report < 2 s", seconds, " s", 2, above=False)
    resident = f.memory_mb[0] if f and f.memory_mb else None
    bound("(f) server memory < 300 MB after a million orders", resident, " MB", 300, above=False)
    replay = results.get("replay")
    if replay and replay.figures:
        held = bool(replay.figures["kept_up"]) and not replay.problems
        add("replay keeps up, zero loss", "; ".join(replay.notes[:2]), held)
    return found


def environment(bench: Bench, mode: str) -> dict[str, Any]:
    """Where and how the figures were taken."""
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "cpu": cpu,
        "python": platform.python_version(),
        "wrk": (wrk.stdout or wrk.stderr).split(" Copyright")[0].strip(),
        "connections": bench.connections,
        "wrk_threads": bench.threads,
        "warmup_seconds": bench.warmup_seconds,
        "run_seconds": bench.seconds,
        "repeats": bench.repeats,
    }


def print_table(console: Console, results: dict[str, ScenarioResult]) -> None:
    """The table, then each scenario's notes, then the targets."""
    table = Table(title="launchday bench (medians of the repeats)")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for cells, _ in rows(results):
        table.add_row(*cells)
    console.print(table)
    for result in results.values():
        for note in notes_of(result):
            console.print(f"({result.key}) {note}", markup=False, highlight=False)
    for target in targets(results):
        mark = {True: "[green]met[/green]", False: "[red]not met[/red]", None: "—"}[target["met"]]
        console.print(f"{mark}  {target['target']}: ", end="")
        console.print(target["measured"], markup=False, highlight=False)


def markdown(results: dict[str, ScenarioResult], env: dict[str, Any]) -> str:
    """The table and the targets as Markdown, as the README shows them."""
    lines = [
        f"Measured {env['date']} ({env['mode']}): {env['cpu']}, Python {env['python']},"
        f" {env['wrk']}; {env['connections']} connections, warm-up {env['warmup_seconds']:g} s"
        f" then {env['repeats']} runs of {env['run_seconds']:g} s, medians.",
        "",
        "| " + " | ".join((*COLUMNS, "notes")) + " |",
        "|" + "|".join(["---"] + ["--:"] * (len(COLUMNS) - 1) + ["---"]) + "|",
    ]
    for cells, notes in rows(results):
        lines.append("| " + " | ".join((*cells, notes.replace("|", "/"))) + " |")
    lines += ["", "| target | measured | |", "|---|---|---|"]
    for target in targets(results):
        mark = {True: "met", False: "**not met**", None: "—"}[target["met"]]
        lines.append(f"| {target['target']} | {target['measured']} | {mark} |")
    return "\n".join(lines) + "\n"


def write(
    folder: Path, results: dict[str, ScenarioResult], env: dict[str, Any]
) -> tuple[Path, Path]:
    """bench/results/latest.json and latest.md."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "environment": env,
        "scenarios": {key: result.to_json() for key, result in results.items()},
        "ratios": {
            key: {"to_a": ratio(result, results.get("a")), "to_b": ratio(result, results.get("b"))}
            for key, result in results.items()
        },
        "targets": targets(results),
    }
    as_json = folder / "latest.json"
    as_json.write_text(json.dumps(data, indent=2) + "\n")
    as_md = folder / "latest.md"
    as_md.write_text(markdown(results, env))
    return as_json, as_md
