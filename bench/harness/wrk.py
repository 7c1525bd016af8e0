"""Running wrk on the load core and reading what its Lua scripts counted.

wrk is the load generator: C, one event loop per thread, far cheaper per request
than any Python client, so on its own core it is never what limits a run. The Lua
scripts in bench/wrk/ give every request its own customer token and key from a
pre-minted file and write their counts as JSON from done().
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.servers import BENCH, LOAD_CORE

SCRIPTS = BENCH / "wrk"
# A request slower than this counts as a timeout error in wrk's summary.
TIMEOUT = "2s"


def require_wrk() -> str | None:
    """Why wrk (or taskset) cannot run here, or None when both are installed."""
    if shutil.which("wrk") is None:
        return "wrk is not installed: apt-get install wrk"
    if shutil.which("taskset") is None:
        return "taskset is not installed: apt-get install util-linux"
    if (os.cpu_count() or 1) < 2:
        return "this harness pins the server and wrk to two different cores: it needs 2"
    return None


@dataclass(frozen=True)
class Slice:
    """Which lines of a token file one wrk run uses: `per_thread` lines for each thread,
    thread k from line `first + k * per_thread`."""

    tokens: Path
    first: int
    per_thread: int
    threads: int

    @property
    def end(self) -> int:
        """The first line after this slice: where the next run's slice starts."""
        return self.first + self.per_thread * self.threads


@dataclass
class WrkRun:
    """What one wrk run measured and what its Lua script counted."""

    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    socket_errors: int
    statuses: dict[str, int]
    sent: int
    answered: int
    wrapped: int
    replayed: int
    # Share of the load core wrk used: near 1.0, wrk rather than the server set the pace.
    load_core_busy: float = 0.0
    # Share of a core that other processes on the machine used meanwhile: figures taken
    # while something else ran are disturbed (the machine may be shared).
    others_busy: float = 0.0
    # Share of a core the server (with its database, when one is counted) used: near 1.0
    # the server's core set the pace; well below, the wait for commits did.
    server_busy: float = 0.0
    # Customer numbers of fresh 201s: launchday names the customer in its answer.
    acked: list[int] = field(default_factory=list, repr=False)
    # Filled in by a database check after the run (launchday scenarios only).
    check: dict[str, Any] | None = None

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def not_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status.startswith("5"))

    @property
    def errors(self) -> int:
        """Everything that is not a 2xx answer: error statuses and socket errors."""
        return self.not_2xx + self.socket_errors

    def summary(self) -> dict[str, Any]:
        """The run as JSON-ready data (without the list of acknowledged customers)."""
        return {
            "requests_per_second": round(self.requests_per_second, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "socket_errors": self.socket_errors,
            "statuses": self.statuses,
            "wrapped": self.wrapped,
            "replayed": self.replayed,
            "load_core_busy": round(self.load_core_busy, 2),
            "others_busy": round(self.others_busy, 2),
            "server_busy": round(self.server_busy, 2),
            "check": self.check,
        }


def run_wrk(
    script: str,
    url: str,
    path: str,
    tokens: Slice,
    seconds: float,
    connections: int,
    scratch: Path,
) -> WrkRun:
    """One wrk run of `script` against `url` + `path`, pinned to the load core."""
    out = scratch / "wrk-out.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BENCH_TOKENS": str(tokens.tokens),
        "BENCH_FIRST": str(tokens.first),
        "BENCH_PER_THREAD": str(tokens.per_thread),
        "BENCH_PATH": path,
        "BENCH_OUT": str(out),
    }
    argv = [
        *("taskset", "-c", str(LOAD_CORE), "wrk"),
        *(f"-t{tokens.threads}", f"-c{connections}", f"-d{seconds:g}s", f"--timeout={TIMEOUT}"),
        *("-s", str(SCRIPTS / script), url),
    ]
    before = _children_cpu_seconds()
    finished = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if finished.returncode != 0 or not out.exists():
        raise RuntimeError(
            f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout}"
        )
    run = parse(json.loads(out.read_text()))
    run.load_core_busy = (_children_cpu_seconds() - before) / run.seconds
    return run


def _children_cpu_seconds() -> float:
    """CPU seconds of the finished child processes (taskset execs wrk: the same one)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse(data: dict[str, Any]) -> WrkRun:
    """A WrkRun from the JSON written by bench/wrk/common.lua's done()."""
    threads = data["threads"]
    statuses: dict[str, int] = {}
    for thread in threads:
        # An empty Lua table encodes as [], whatever it was meant to hold.
        for status, count in dict(thread["statuses"] or {}).items():
            statuses[status] = statuses.get(status, 0) + int(count)
    percentiles = data["latency_us"]["percentiles"]
    errors = data["errors"]
    return WrkRun(
        seconds=data["duration_us"] / 1e6,
        requests=int(data["requests"]),
        p50_ms=percentiles["50"] / 1000,
        p99_ms=percentiles["99"] / 1000,
        socket_errors=sum(int(errors[kind]) for kind in ("connect", "read", "write", "timeout")),
        statuses=statuses,
        sent=sum(int(t["sent"]) for t in threads),
        answered=sum(int(t["answered"]) for t in threads),
        wrapped=sum(int(t["wrapped"]) for t in threads),
        replayed=sum(int(t["replayed"]) for t in threads),
        acked=[int(n) for t in threads for n in (t["acked"] or [])],
    )


def median_of(runs: list[WrkRun], attribute: str) -> float:
    """The median of one measure over the repeated runs."""
    return float(statistics.median(getattr(run, attribute) for run in runs))
