"""`launchday demo`, the README's first command, as a new user meets it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from launchday.cli import free_port
from tests.support import Database


def _demo(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDAY_")}
    return subprocess.Popen(
        [sys.executable, "-m", "launchday", "demo", "--out", str(tmp_path), *args],
        env={**env, "COLUMNS": "100"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_the_demo_rehearses_and_writes_a_report_that_matches_the_scenario(
    tmp_path: Path,
) -> None:
    # x20 keeps the first 10 s (120 orders) to half a real second: room for a busy machine.
    demo = _demo(tmp_path, "--scale", "0.002", "--speed", "20", "--until", "3m")
    output, _ = demo.communicate(timeout=300)
    assert demo.returncode == 0, output
    assert "scenario x 0.002 vs replayed" in output
    assert "kept up with the schedule" in output or "fell behind the schedule" in output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["launch"] == "yu7-2025"
    by_after = {m["after_seconds"]: m["orders"] for m in report["milestones"]}
    # 200,000 in three minutes, times 0.002.
    assert by_after[180] == pytest.approx(400, abs=20)
    assert report["orders"]["total"] == sum(report["orders"]["by_sku"].values())
    assert report["time_scale"] == 20


@pytest.mark.slow
def test_the_demo_runs_on_postgresql_with_two_workers(
    tmp_path: Path, pg_database: Database
) -> None:
    """`launchday demo --db postgresql://... --workers 2`: the same rehearsal, on a shared
    database that keeps what was there (the launch gets a slug of its own)."""
    args = ["--db", pg_database.url, "--workers", "2", "--scale", "0.002", "--speed", "20"]
    demo = _demo(tmp_path, *args, "--until", "3m")
    output, _ = demo.communicate(timeout=300)
    assert demo.returncode == 0, output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["launch"].startswith("yu7-2025-")
    by_after = {m["after_seconds"]: m["orders"] for m in report["milestones"]}
    assert by_after[180] == pytest.approx(400, abs=20)
    stored = pg_database.scalar("SELECT count(*) FROM orders")
    assert stored == report["orders"]["total"]
    # A second demo on the same database adds a launch beside the first.
    again = _demo(tmp_path / "again", *args, "--until", "10s")
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, output
    assert pg_database.scalar("SELECT count(*) FROM launches") == 2


@pytest.mark.slow
def test_a_bad_scenario_file_gets_a_message_naming_field_and_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    shipped = Path(__file__).parents[1] / "src/launchday/scenarios/yu7-2025.toml"
    scenario.write_text(shipped.read_text().replace('after = "2m"', 'after = "two minutes"'))
    demo = _demo(tmp_path, "--scenario", str(scenario))
    output, _ = demo.communicate(timeout=60)
    assert demo.returncode == 2
    assert "Traceback" not in output
    assert "demand.milestones[3].after" in output
    line = next(
        n for n, text in enumerate(scenario.read_text().splitlines(), 1) if "two minutes" in text
    )
    assert f"bad.toml:{line}" in output


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="the demo prints curl commands")
def test_keep_serving_prints_curl_commands_that_work(tmp_path: Path) -> None:
    demo = _demo(
        tmp_path,
        "--scale",
        "0.001",
        "--speed",
        "600",
        "--until",
        "1m",
        "--keep-serving",
        "--port",
        str(free_port()),
    )
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        for line in demo.stdout:
            lines.append(line.rstrip("\n"))
            if "Ctrl-C stops the server" in line:
                break
        token_line = next(line for line in lines if line.startswith("TOKEN="))
        join = next(
            line for line in lines if line.endswith('/queue -H "Authorization: Bearer $TOKEN"')
        )
        ticket = json.loads(_bash(f"{token_line}\n{join}"))
        read = next(line for line in lines if "/queue/TICKET" in line)
        read = read.replace("TICKET", ticket["ticket"])
        for _ in range(100):  # the rehearsal is over: admission is a poll or two away
            if ticket["state"] == "admitted":
                break
            time.sleep(ticket["poll_after_seconds"])
            ticket = json.loads(_bash(f"{token_line}\n{read}"))
        assert ticket["state"] == "admitted"
        admission = f"ADMISSION={ticket['admission_token']}"
        start = lines.index(
            next(line for line in lines if line.startswith("curl -s -X POST") and "/orders" in line)
        )
        placed = json.loads(_bash("\n".join([token_line, admission, *lines[start : start + 3]])))
        assert placed["status"] == "reserved"
        assert placed["customer"] == "c-by-hand"
        cancel = next(line for line in lines if "/cancel" in line).replace("ID", placed["id"])
        cancelled = json.loads(_bash(f"{token_line}\n{cancel}"))
        assert cancelled["refund"] == {"amount": 5000, "currency": "CNY"}
        report_line = next(line for line in lines if line.startswith("# the report: "))
        report_line = report_line.removeprefix("# the report: ")
        report = json.loads(_bash(report_line))
        assert report["cancellations"]["count"] >= 1
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
        if demo.stdout:
            demo.stdout.close()


def _bash(script: str) -> str:
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout
