"""Waiting for the one-machine cluster's parts to be ready, each asked the way its
operators would: etcd's `/health`, Patroni's `/cluster`, HAProxy's statistics and
launchday's `/healthz` through the balancer."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence

import httpx

from launchday.cluster.errors import ClusterError
from launchday.cluster.layout import Layout
from launchday.cluster.members import read_members, replicated
from launchday.cluster.processes import Daemon, log_tail, running

POLL_SECONDS = 0.2


def wait_until(
    what: str, ready: Callable[[], bool], timeout: float, watched: Sequence[Daemon] = ()
) -> None:
    """Return once `ready()`; ClusterError when `timeout` s pass first, or at once when a
    `watched` daemon exits (with the end of its log)."""
    deadline = time.monotonic() + timeout
    while not ready():
        for daemon in watched:
            if not running(daemon):
                raise ClusterError(
                    f"{daemon.title} exited before {what}; see {daemon.log}:\n{log_tail(daemon)}"
                )
        if time.monotonic() > deadline:
            logs = ", ".join(str(d.log) for d in watched)
            raise ClusterError(f"not {what} within {timeout:g} s; see {logs}")
        time.sleep(POLL_SECONDS)


def answers(url: str, *, timeout: float = 1.0) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        return None


def etcd_healthy(layout: Layout) -> bool:
    """Every member answers `/health` as healthy (a quorum with a leader)."""
    for node in layout.databases:
        response = answers(f"{layout.etcd_client_url(node)}/health")
        if response is None or response.status_code != 200:
            return False
        if response.json().get("health") != "true":
            return False
    return True


def database_replicated(layout: Layout) -> bool:
    """Patroni names a running leader and a synchronous standby that replicates."""
    members = read_members(layout)
    return members is not None and replicated(members)


def balanced_servers(layout: Layout) -> dict[str, str]:
    """HAProxy's view of each API host in the main backend: `UP`, `DOWN`..."""
    response = answers(f"{layout.stats_url};csv")
    if response is None or response.status_code != 200:
        return {}
    rows = csv.DictReader(io.StringIO(response.text.removeprefix("# ")))
    return {
        row["svname"]: row["status"]
        for row in rows
        if row["pxname"] == "launchday_api" and row["svname"] not in ("FRONTEND", "BACKEND")
    }


def balancer_serving(layout: Layout) -> bool:
    """Every API host is up in HAProxy, and `/healthz` answers through it."""
    servers = balanced_servers(layout)
    if sorted(servers) != sorted(n.name for n in layout.api_nodes):
        return False
    if any(not status.startswith("UP") for status in servers.values()):
        return False
    response = answers(f"{layout.public_url}/healthz")
    return response is not None and response.status_code == 200
