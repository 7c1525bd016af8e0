"""Faults for the one-machine cluster, and putting it right between the failover tests
(tests/test_cluster_failover.py): killing or freezing a node's processes, cutting its
link to the bridge, and bringing every part back until the cluster is whole again.

Each node is a network namespace (docs/cluster.md), so "the processes of a node" are
the processes in its namespace, found as `launchday cluster down` finds them.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from launchday.cluster import Credentials, RunningCluster, down, up
from launchday.cluster import daemons as cluster_daemons
from launchday.cluster.layout import POSTGRES_PORT, Layout, Node
from launchday.cluster.members import REPLICATING, Member, leader, read_members
from launchday.cluster.netns import ip, pids_in
from launchday.cluster.prerequisites import missing
from launchday.cluster.processes import Daemon, pid_of, running, signal_pid, start, wait_gone
from launchday.cluster.readiness import balancer_serving, etcd_healthy
from tests.support import ADMIN_KEY, SECRET


def comm(pid: int) -> str:
    """The program name of `pid` (`etcd`, `postgres`, `patroni`...), '' once gone."""
    try:
        with open(f"/proc/{pid}/comm") as file:
            return file.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def members(layout: Layout) -> list[Member]:
    found = read_members(layout)
    if found is None:
        raise AssertionError("no Patroni answers /cluster")
    return found


def primary_node(layout: Layout) -> Node:
    """The node whose PostgreSQL is the primary now (Patroni's leader)."""
    member = leader(members(layout))
    if member is None:
        raise AssertionError(f"no leader: {members(layout)}")
    return layout.node(member.name)


def leader_seen_by_others(layout: Layout, node: Node) -> Node | None:
    """The leader as the Patroni of another database node sees it (not `node`'s own,
    which may be cut off with a stale view); None if none of them names one."""
    for other in layout.databases:
        if other == node:
            continue
        try:
            response = httpx.get(f"{layout.patroni_url(other)}/cluster", timeout=1)
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            found = leader([Member.from_json(m) for m in response.json().get("members", [])])
            if found is not None:
                return layout.node(found.name)
    return None


def sync_standby_node(layout: Layout) -> Node:
    found = [m for m in members(layout) if m.role == "sync_standby"]
    if len(found) != 1:
        raise AssertionError(f"not one synchronous standby: {members(layout)}")
    return layout.node(found[0].name)


def etcd_leader_node(layout: Layout) -> Node:
    """The database node whose etcd member leads etcd now."""
    for node in layout.databases:
        try:
            response = httpx.get(f"{layout.etcd_client_url(node)}/v2/stats/self", timeout=1)
        except httpx.HTTPError:
            continue
        if response.status_code == 200 and response.json().get("state") == "StateLeader":
            return node
    raise AssertionError("no etcd member says it leads")


def kill_node(node: Node) -> list[str]:
    """SIGKILL every process of `node` (a machine lost); their names."""
    pids = pids_in(node.namespace)
    names = sorted({comm(pid) for pid in pids})
    for pid in pids:
        signal_pid(pid, signal.SIGKILL)
    wait_gone(pids, 10)
    return names


def kill_daemon(daemon: Daemon) -> None:
    """SIGKILL one daemon (not its children: etcd and launchday serve have none)."""
    pid = pid_of(daemon)
    assert pid is not None, f"{daemon.title} was never started"
    assert running(daemon), f"{daemon.title} is not running"
    signal_pid(pid, signal.SIGKILL)
    wait_gone([pid], 10)


def database_pids(node: Node) -> list[int]:
    """Patroni's and PostgreSQL's processes on `node` (not its etcd member)."""
    return [pid for pid in pids_in(node.namespace) if comm(pid) != "etcd"]


def freeze(pids: list[int]) -> None:
    for pid in pids:
        signal_pid(pid, signal.SIGSTOP)


def thaw(pids: list[int]) -> None:
    for pid in pids:
        signal_pid(pid, signal.SIGCONT)


def cut_link(node: Node) -> None:
    """Take the bridge's end of `node`'s veth down: a cable pulled at the switch. The node
    keeps running and its own end stays up, so its packets are lost, not refused."""
    ip("link", "set", node.veth, "down")


def mend_link(node: Node) -> None:
    ip("link", "set", node.veth, "up")


def cut_from_peers(layout: Layout, node: Node) -> None:
    """Drop whatever `node` sends to the other database nodes (blackhole routes in its
    namespace): it no longer reaches its standbys or the etcd majority, while the API
    hosts still reach it. Nothing it sends them arrives, so their side of each
    connection hears nothing either."""
    for peer in layout.databases:
        if peer != node:
            ip("-n", node.namespace, "route", "add", "blackhole", f"{peer.address}/32")


def mend_peers(layout: Layout, node: Node) -> None:
    for peer in layout.databases:
        if peer != node:
            ip("-n", node.namespace, "route", "del", "blackhole", f"{peer.address}/32", check=False)


@dataclass(frozen=True, slots=True)
class Healed:
    """What putting the cluster right took."""

    restarted: list[str]
    seconds: float


def whole(cluster: RunningCluster) -> bool:
    """Three etcd members healthy, a leader with a synchronous standby and a second
    standby, all replicating, and every API host up in HAProxy."""
    layout = cluster.layout
    if not etcd_healthy(layout):
        return False
    found = read_members(layout)
    primary = leader(found) if found is not None else None
    if found is None or primary is None or len(found) != len(layout.databases):
        return False
    standbys = [m for m in found if m.role != "leader"]
    if sorted(m.role for m in standbys) != ["replica", "sync_standby"]:
        return False
    if not all(m.state in REPLICATING for m in standbys):
        return False
    return streaming_to_both(cluster, layout.node(primary.name)) and balancer_serving(layout)


def superuser_url(cluster: RunningCluster, node: Node) -> str:
    password = cluster.credentials.superuser_password
    return f"postgresql://postgres:{password}@{node.address}:{POSTGRES_PORT}/postgres"


def synchronous_standby_names(cluster: RunningCluster, primary: Node) -> str | None:
    """What the primary's commits wait for now (Patroni sets it); None if it does not
    answer."""
    try:
        with psycopg.connect(superuser_url(cluster, primary), connect_timeout=2) as conn:
            row = conn.execute("SHOW synchronous_standby_names").fetchone()
    except psycopg.OperationalError:
        return None
    return None if row is None else str(row[0])


def streaming_to_both(cluster: RunningCluster, primary: Node) -> bool:
    """The primary itself streams to two standbys, one of them synchronous: what Patroni
    says of a member that has just rejoined may run ahead of its PostgreSQL."""
    url = superuser_url(cluster, primary)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
            rows = conn.execute(
                "SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1"
            ).fetchall()
    except psycopg.OperationalError:
        return False
    return [row[0] for row in rows] == ["async", "sync"]


def heal(cluster: RunningCluster, timeout: float = 120) -> Healed:
    """Mend every link, wake every frozen process, start every daemon that is not
    running (etcd before Patroni, Patroni before the API hosts), and wait until the
    cluster is whole; AssertionError if it is not within `timeout` s."""
    started = time.monotonic()
    layout = cluster.layout
    for node in layout.nodes:
        mend_link(node)
        if node in layout.databases:
            mend_peers(layout, node)
        thaw(pids_in(node.namespace))
    restarted = []
    tiers: list[list[Daemon]] = [
        cluster_daemons.etcd_members(layout),
        cluster_daemons.patronis(layout, cluster.credentials),
        [
            *cluster_daemons.api_servers(layout, cluster.credentials),
            cluster_daemons.balancer(layout),
        ],
    ]
    for tier in tiers:
        for daemon in tier:
            if not running(daemon):
                start(daemon)
                restarted.append(daemon.title)
    wait_for(lambda: whole(cluster), timeout, "the cluster whole again")
    return Healed(restarted, time.monotonic() - started)


def wait_for(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout:g} s")
        time.sleep(0.2)


@contextlib.contextmanager
def cluster_for_tests(
    prefix: str, subnet: str, keep_logs: Callable[[], bool] = lambda: False
) -> Iterator[RunningCluster]:
    """The one-machine cluster under names and addresses of a test module's own, up for
    the module (a crashed earlier run's taken down first), down at its end; its run
    folder removed unless `keep_logs()` says its daemons' logs are wanted. Skips where
    the cluster cannot run (CI counts that as a failure)."""
    lacking = missing()
    if lacking:
        pytest.skip("the one-machine cluster needs " + "; ".join(lacking))
    # Under /tmp, not pytest's own folders: those are root's alone, and PostgreSQL runs as
    # the postgres user, who must reach its data folder.
    run_dir = Path(tempfile.mkdtemp(prefix=f"launchday-{prefix}-"))
    layout = Layout(run_dir, subnet=subnet, prefix=prefix)
    down(layout)
    credentials = Credentials.generate(admin_key=ADMIN_KEY, secret=SECRET.decode())
    running_cluster = up(layout, credentials, timeout=120)
    try:
        yield running_cluster
    finally:
        down(layout)
        if not keep_logs():
            shutil.rmtree(run_dir, ignore_errors=True)
