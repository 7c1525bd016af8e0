"""The rehearsal commands behind `launchday demo` and `launchday simulate`."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
from rich.console import Console

from launchday.analytics.report import Report
from launchday.analytics.report_files import write_report_files
from launchday.api.auth import mint_customer_token
from launchday.sim.display import ReplayProgress, milestone_table, quote_table, summary_lines
from launchday.sim.rehearsal import RehearsalPlan, RehearsalResult, rehearse
from launchday.sim.replay_stats import ReplayStats
from launchday.sim.scenario import scaled_milestones
from launchday.sim.store_display import store_lines, store_table
from launchday.store.sqlite import sqlite_path


def token_minter(secret: bytes) -> Callable[[str], str]:
    """Customer tokens as the brand's identity provider would sign them, valid for a day."""
    issued = datetime.now(UTC)

    def mint(customer: str) -> str:
        return mint_customer_token(secret, customer, issued, timedelta(days=1))

    return mint


def run_rehearsal(
    console: Console, base_url: str, admin_key: str, secret: bytes, plan: RehearsalPlan
) -> RehearsalResult:
    """Rehearse with progress bars, then print the milestone table and the replay's account."""
    options = plan.options
    with ReplayProgress(console, options.until, plan.orders) as progress:

        def tick(phase: str, stats: ReplayStats | None) -> None:
            progress.update(phase, stats)

        result = asyncio.run(
            rehearse(base_url, admin_key, token_minter(secret), plan, on_tick=tick)
        )
    console.print(milestone_table(result))
    if result.quotes:
        console.print(quote_table(result))
    stores = store_table(result)
    if stores is not None:
        console.print(stores)
    for line in summary_lines(result) + store_lines(result):
        console.print(line)
    return result


def write_report(result: RehearsalResult, out: Path) -> Path:
    """report.json, the charts and report.html, with the scenario's milestones marked;
    returns the page's path."""
    options = result.options
    expected = [
        (m.after_seconds, m.orders)
        for m in scaled_milestones(options.scenario, options.scale)
        if m.after_seconds <= options.until
    ]
    report = msgspec.convert(result.report, Report)
    write_report_files(report, out, scenario_milestones=expected)
    return out / "report.html"


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[Any], *, timeout: float, log: Path | None = None
) -> None:
    """Return once the server at `base_url` answers GET /healthz with 200; raise
    RuntimeError if its `process` exits first or `timeout` seconds pass."""
    see = f"; see {log}" if log is not None else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}{see}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not start within {timeout:g} s{see}")


class ServerProcess:
    """`launchday serve` in a process of its own, so it has a core to itself."""

    def __init__(
        self,
        db_url: str,
        port: int,
        admin_key: str,
        secret: bytes,
        *,
        log: Path | None = None,
        workers: int = 1,
    ) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "LAUNCHDAY_DB": db_url,
            "LAUNCHDAY_ADMIN_KEY": admin_key,
            "LAUNCHDAY_SECRET": secret.decode(),
        }
        self._log = log or Path(sqlite_path(db_url)).with_suffix(".server.log")
        command = [sys.executable, "-m", "launchday", "serve", "--port", str(port)]
        if workers != 1:
            command += ["--workers", str(workers)]
        with self._log.open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=out)

    def wait_until_healthy(self, timeout: float = 60) -> None:
        wait_until_healthy(self.base_url, self.process, timeout=timeout, log=self._log)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def fresh_database(db_url: str) -> None:
    """Remove a previous demo's database files so every demo starts empty."""
    path = Path(sqlite_path(db_url))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def demo_credentials() -> tuple[str, bytes]:
    """The admin key and secret of a demo: from the environment, else fresh ones."""
    admin_key = os.environ.get("LAUNCHDAY_ADMIN_KEY") or secrets.token_urlsafe(24)
    secret = (os.environ.get("LAUNCHDAY_SECRET") or secrets.token_urlsafe(32)).encode()
    return admin_key, secret


def print_how_to_order(
    console: Console,
    base: str,
    slug: str,
    sku: str,
    hours: float,
    admin_key: str,
    secret: bytes,
    *,
    waiting_room: bool,
) -> None:
    """The curl commands to take part by hand: plain lines that paste into a shell as they are."""
    token = mint_customer_token(secret, "c-by-hand", datetime.now(UTC), timedelta(days=1))
    bearer = '-H "Authorization: Bearer $TOKEN"'
    queue = [
        "# this launch has a waiting room: join it, then read the ticket until it is admitted",
        f"curl -s -X POST {base}/api/v1/launches/{slug}/queue {bearer}",
        f"curl -s {base}/api/v1/launches/{slug}/queue/TICKET {bearer}",
        "ADMISSION=admission_token-from-the-answer",
        "",
    ]
    admission = ' -H "Admission-Token: $ADMISSION"' if waiting_room else ""
    lines = [
        f"{base} keeps serving; admin key: {admin_key}",
        f"the live dashboard: {base}/launches/{slug}",
        "",
        "# the launch, its variants and live counts",
        f"curl -s {base}/api/v1/launches/{slug}",
        "",
        "# be customer c-by-hand",
        f"TOKEN={token}",
        "",
        *(queue if waiting_room else []),
        "# place an order",
        f"curl -s -X POST {base}/api/v1/launches/{slug}/orders \\",
        f'  -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: first-try"{admission} \\',
        f"  -H 'Content-Type: application/json' -d '{{\"sku\": \"{sku}\"}}'",
        "",
        f"# read it, or cancel inside the {hours:g}-hour window (ID: from the answer)",
        f"curl -s {base}/api/v1/orders/ID {bearer}",
        f"curl -s -X POST {base}/api/v1/orders/ID/cancel {bearer}",
        "",
        f'# the report: curl -s {base}/api/v1/launches/{slug}/report -H "Authorization: Bearer'
        f' {admin_key}"',
        f"# the API: {base}/openapi.json    metrics: {base}/metrics",
        "",
        "Ctrl-C stops the server.",
    ]
    console.print("\n".join(lines), soft_wrap=True, markup=False, highlight=False)
