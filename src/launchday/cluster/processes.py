"""Each daemon of the one-machine cluster as a process in its node's namespace.

Started with `ip netns exec`, as the postgres user through `setpriv` where PostgreSQL
needs it: both replace themselves with the daemon (no fork), so the pid written beside
the daemon's log is the daemon's own and a signal to it reaches the daemon, not a
wrapper. (`runuser` forks and waits, and kills its child 2 s after passing it a SIGTERM:
Patroni would be killed while it shuts PostgreSQL down.)

Stopped by those pids (SIGTERM, then SIGKILL after a while), each pid checked to be in
the node's namespace first, so a pid reused after a crash is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from launchday.cluster.layout import Node
from launchday.cluster.netns import NETNS_DIR, pids_in

# The daemons get this environment and what each adds, nothing of the caller's shell.
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Popen objects of the daemons this process started, kept so that they are waited for
# when stopped (no zombie, no ResourceWarning from a Popen dropped while running).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True, slots=True)
class Daemon:
    """A long-running program of one node."""

    name: str
    """`etcd`, `patroni`, `launchday`, `haproxy`: names its log and pid files."""
    node: Node
    command: tuple[str, ...]
    log: Path
    pid_file: Path
    user: str | None = None
    """Run as this user (from root); None: as root."""
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.name} on {self.node.name}"


def environment(user: str | None, extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment for a daemon run as `user` (root when None)."""
    account = pwd.getpwnam(user or "root")
    return {
        "PATH": BASE_PATH,
        "LANG": "C.UTF-8",
        "HOME": account.pw_dir,
        "USER": account.pw_name,
        "LOGNAME": account.pw_name,
        **extra,
    }


def start(daemon: Daemon) -> Daemon:
    """Start `daemon` in its node's namespace, in a session of its own (its pid in its
    pid file)."""
    command = ["ip", "netns", "exec", daemon.node.namespace]
    if daemon.user is not None:
        command += ["setpriv", f"--reuid={daemon.user}", f"--regid={daemon.user}", "--init-groups"]
    command += daemon.command
    with open(daemon.log, "ab") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment(daemon.user, daemon.env),
            cwd=daemon.log.parent,
            start_new_session=True,  # a Ctrl-C at the terminal that ran `up` is not theirs
        )
    _children[process.pid] = process
    daemon.pid_file.write_text(f"{process.pid}\n")
    return daemon


def pid_of(daemon: Daemon) -> int | None:
    """The pid `daemon` was started with, if its file is there."""
    try:
        return int(daemon.pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not; one of ours is reaped here)."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # `pid (comm) S ...`: the state follows the last `)`.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def in_namespace(pid: int, namespace: str) -> bool:
    """Whether `pid`'s network namespace is `namespace` (not a pid reused since)."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(NETNS_DIR / namespace).st_ino
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


def running(daemon: Daemon) -> bool:
    pid = pid_of(daemon)
    return pid is not None and alive(pid) and in_namespace(pid, daemon.node.namespace)


def stop(daemons: Iterable[Daemon], timeout: float) -> None:
    """SIGTERM each running daemon, wait up to `timeout` s for all, SIGKILL the rest."""
    pids = []
    for daemon in daemons:
        pid = pid_of(daemon)
        if pid is not None and alive(pid) and in_namespace(pid, daemon.node.namespace):
            signal_pid(pid, signal.SIGTERM)
            pids.append(pid)
        daemon.pid_file.unlink(missing_ok=True)
    if not wait_gone(pids, timeout):
        for pid in pids:
            signal_pid(pid, signal.SIGKILL)
        wait_gone(pids, 5)


def sweep(namespace: str) -> None:
    """SIGKILL whatever still runs in `namespace` (a PostgreSQL whose Patroni was killed,
    a daemon of a run whose pid files were lost) and wait for it to be gone."""
    pids = pids_in(namespace)
    for pid in pids:
        signal_pid(pid, signal.SIGKILL)
    wait_gone(pids, 10)


def signal_pid(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def wait_gone(pids: list[int], timeout: float) -> bool:
    """Wait until none of `pids` runs; False if some still do after `timeout` s."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def log_tail(daemon: Daemon, lines: int = 15) -> str:
    """The end of a daemon's log, to show with an error."""
    try:
        text = daemon.log.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
