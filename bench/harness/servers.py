"""Server processes under test: started pinned to the server core, measured, stopped.

Every server (the two baselines and launchday) is uvicorn with uvloop and httptools,
started through `taskset` so it and every thread it starts later (launchday's SQLite
writer) stay on SERVER_CORE, away from the load generator on LOAD_CORE.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from launchday.cli.rehearse import wait_until_healthy

SERVER_CORE = 0
LOAD_CORE = 1
BENCH = Path(__file__).resolve().parent.parent
BASELINES = BENCH / "baselines"
# Lines of a server log that mean something went wrong inside the server.
LOG_ALARMS = ("Traceback", "ERROR", "unexpected error", "CRITICAL")


class Server:
    """One server process on SERVER_CORE, with its output in `log`."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path, env: Mapping[str, str]):
        self.name = name
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("ab") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                ["taskset", "-c", str(SERVER_CORE), *argv],
                env=dict(env),
                stdout=out,
                stderr=out,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once GET /healthz answers 200; raise if the process dies or stalls."""
        wait_until_healthy(self.base_url, self.process, timeout=timeout, log=self.log)

    def memory_mb(self) -> tuple[float, float]:
        """(resident now, peak resident) in MB, from /proc (VmRSS and VmHWM)."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024  # kB
        return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)

    # CPU seconds of processes that work for the server (its database's), counted as its.
    database_cpu: Callable[[], float] | None = None

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far (all its threads), and
        its database server's when it has one of its own."""
        own = process_cpu_seconds(self.process.pid)
        return own + (self.database_cpu() if self.database_cpu else 0.0)

    def stop(self) -> None:
        """Ctrl-C, as a user stops it (lifespan shutdown runs); kill if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_alarms(self) -> list[str]:
        """Lines of the server's log that report an error (at most 20)."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if any(alarm in line for alarm in LOG_ALARMS)][:20]


def process_cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User plus system CPU seconds of a process (and of its children it has reaped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name (which may hold spaces) start past the ')'.
    after = stat.rsplit(")", 1)[1].split()
    ticks = int(after[11]) + int(after[12])
    if with_children:
        ticks += int(after[13]) + int(after[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def process_tree_cpu_seconds(root: int) -> float:
    """CPU seconds of `root`, its reaped children and its live children (a database
    server: the postmaster and its backends)."""
    total = process_cpu_seconds(root, with_children=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == root:
                total += process_cpu_seconds(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all processes on this machine have used since boot (from /proc/stat):
    with the server's and wrk's own, this tells how much others took during a run."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# uvicorn's own protocol, as baselines (a) and (b) run; (b2) runs (b) under launchday's.
UVICORN_HTTP = "httptools"
LAUNCHDAY_HTTP = "launchday.http.protocol:HttpProtocol"


def uvicorn_server(name: str, app: str, port: int, log: Path, http: str = UVICORN_HTTP) -> Server:
    """A baseline app from bench/baselines under uvicorn, configured as launchday serves."""
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(BASELINES),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        http,
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "4096",
    ]
    return Server(name, argv, port, log, os.environ)


def launchday_server(
    name: str,
    db: Path | str,
    port: int,
    log: Path,
    admin_key: str,
    secret: bytes,
    more_env: Mapping[str, str] | None = None,
) -> Server:
    """`launchday serve` on `db` (a SQLite file, or a database URL), as a user runs it."""
    env = {
        **os.environ,
        "LAUNCHDAY_DB": db if isinstance(db, str) else f"sqlite:///{db}",
        "LAUNCHDAY_ADMIN_KEY": admin_key,
        "LAUNCHDAY_SECRET": secret.decode(),
        **(more_env or {}),
    }
    argv = [sys.executable, "-m", "launchday", "serve", "--port", str(port)]
    return Server(name, argv, port, log, env)
