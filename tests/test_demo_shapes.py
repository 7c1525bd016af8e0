"""`launchday demo --scenario FILE` with its default options on launches of every shape:
a week of reservations (Tesla's Model 3, from its published figures), a slow week-long
build-up, a first milestone twelve hours out, a second market opening a day later, fifty
orders in all, and the two shipped stampedes; through the waiting room (the demo's
default), and two of them without it.

Each run uses every default but one: `--replay-seconds` shortens the replay from about
90 to about 8 real seconds (or as little as the first
milestone allows), which makes the launch clock faster and so the test
harder, not easier. The demo checks its own milestones and exits 1 when one is off.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).parent / "scenarios"
SHAPES = sorted(p.name for p in SCENARIOS.glob("*.toml"))
SHIPPED = ["yu7-2025", "su7-2024"]
# A row of the demo's delivery quotes: variant, published weeks, quoted weeks, verdict.
QUOTE_ROW = re.compile(
    r"│ ([A-Z0-9-]+) +│ +(\d+)-(\d+) weeks │ +(\d+)-(\d+) │ +[+-]\d+ weeks │ (\w+) +│"
)


# Without a waiting room, two shapes whose orders come in more than one wave: every
# shape goes through the room (the demo's default), and the shipped scenarios'
# direct orders are replayed in tests/test_rehearsal.py too.
WITHOUT_ROOM = ["slow-build.toml", "two-markets.toml"]
PAYING = "half-day.toml"


@dataclass(frozen=True)
class Demo:
    status: int
    output: str
    report: dict[str, Any]


def start_demo(out: Path, scenario: str, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDAY_")}
    out.mkdir(parents=True, exist_ok=True)
    # To a file, not a pipe: a demo in the background is not read until the end.
    with (out / "output.txt").open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "launchday", "demo", "--scenario", scenario,
             "--out", str(out), "--replay-seconds", "8", *extra],
            env={**env, "COLUMNS": "120"},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip


def finish(demo: subprocess.Popen[str], out: Path) -> Demo:
    try:
        demo.wait(timeout=600)
    except subprocess.TimeoutExpired:
        demo.kill()
        demo.wait()
    output = (out / "output.txt").read_text()
    report_file = out / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return Demo(demo.returncode, output, report)


def scenario_path(name: str) -> str:
    return str(SCENARIOS / name) if name.endswith(".toml") else name


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Demo]:
    """Every demo run of the module, by (scenario, how), one after another: each replays
    against a server of its own, and two at once would take each other's time."""
    root = tmp_path_factory.mktemp("demos")
    runs: dict[tuple[str, str], Demo] = {}
    every: list[tuple[tuple[str, str], tuple[str, ...]]] = [((n, "room"), ()) for n in SHIPPED]
    every += [((name, "room"), ()) for name in SHAPES]
    every += [((name, "direct"), ("--no-waiting-room",)) for name in WITHOUT_ROOM]
    every.append(((PAYING, "pay"), ("--pay",)))
    for (name, how), extra in every:
        out = root / f"{name}-{how}"
        runs[(name, how)] = finish(start_demo(out, scenario_path(name), *extra), out)
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [*SHAPES, *SHIPPED])
def test_the_demo_meets_every_milestone_through_the_waiting_room(
    demos: dict[tuple[str, str], Demo], scenario: str
) -> None:
    status, output, report = astuple(demos[(scenario, "room")])
    assert status == 0, output
    assert " off " not in output.replace("│", " "), output
    room = report["waiting_room"]
    assert isinstance(room, dict)
    assert room["joined"] >= report["orders"]["total"]
    chance = room["second_chance"]
    # Buyers who let an admission lapse came back, and those who did ordered.
    assert chance["rejoined"] == chance["came_back_and_ordered"]
    assert chance["lapsed"] >= chance["rejoined"]
    if scenario in SHIPPED:
        # A new order placed the day the waits were reported is quoted them, within 2
        # weeks, from the shipped production plan and the replayed queue.
        quoted = QUOTE_ROW.findall(output)
        assert len(quoted) == 3, output
        for _sku, published, _, said, _, verdict in quoted:
            assert abs(int(said) - int(published)) <= 2, output
            assert verdict == "ok", output
        assert_the_stores_took_part(output, report)


def assert_the_stores_took_part(output: str, report: dict[str, Any]) -> None:
    """A shipped scenario's stores: walk-ins ordered through them, test drives were booked
    before and after the opening, and the report counts both as the demo says."""
    text = re.sub(r"\s+", " ", output)  # the console wraps long lines
    walk_ins = re.search(r"staff of ([\d,]+) stores placed ([\d,]+) walk-in orders", text)
    booked = re.search(
        r"test drives booked and confirmed: ([\d,]+) before the opening, ([\d,]+) after it", text
    )
    assert walk_ins is not None, output
    assert booked is not None, output
    figures = report["stores"]
    in_stores = sum(c["orders"] for c in figures["channels"] if c["channel"] == "store")
    assert 0 < in_stores <= int(walk_ins.group(2).replace(",", ""))
    before, after = (int(n.replace(",", "")) for n in booked.groups())
    assert before > 0, output
    assert after > 0, output
    assert sum(row["test_drives_booked"] for row in figures["stores"]) == before + after


@pytest.mark.slow
@pytest.mark.parametrize("scenario", WITHOUT_ROOM)
def test_the_demo_meets_every_milestone_without_a_waiting_room(
    demos: dict[tuple[str, str], Demo], scenario: str
) -> None:
    status, output, report = astuple(demos[(scenario, "direct")])
    assert status == 0, output
    assert " off " not in output.replace("│", " "), output
    assert report["waiting_room"] is None


@pytest.mark.slow
def test_the_demo_pays_every_deposit_through_the_rehearsal_provider(
    demos: dict[tuple[str, str], Demo],
) -> None:
    """`--pay`: every order is placed pending_payment and paid over HTTP at the built-in
    provider, whose signed webhooks pay them; the milestones still hold, and the report
    counts every deposit paid with the ledger holding."""
    status, output, report = astuple(demos[(PAYING, "pay")])
    assert status == 0, output
    assert " off " not in output.replace("│", " "), output
    payments = report["payments"]
    assert isinstance(payments, dict)
    orders = report["orders"]["total"]
    assert payments["placed"] == orders
    assert payments["paid"] == orders
    assert payments["pending"] == 0
    assert payments["ledger_holds"] is True
    paid = re.search(r"deposits paid over HTTP through the rehearsal provider: ([\d,]+) of", output)
    assert paid is not None, output
    assert int(paid.group(1).replace(",", "")) == orders
