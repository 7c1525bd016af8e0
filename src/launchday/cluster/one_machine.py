"""The production layout on one machine: `up` builds the network, renders each node's
configuration from the shipped files, starts every daemon and waits until the cluster
takes orders through the balancer; `down` stops it all and removes the network; `status`
reads the members' roles. The same functions serve `launchday cluster` and the tests.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from launchday.cluster import configs, daemons, netns, processes
from launchday.cluster.credentials import Credentials
from launchday.cluster.errors import ClusterError
from launchday.cluster.layout import POSTGRES_OS_USER, Layout, Role
from launchday.cluster.members import Member, leader, read_members
from launchday.cluster.prerequisites import missing, postgres_bin_dir
from launchday.cluster.readiness import (
    balancer_serving,
    database_replicated,
    etcd_healthy,
    wait_until,
)

Report = Callable[[str], None]

# Seconds each tier gets to stop on SIGTERM before SIGKILL. Patroni stops PostgreSQL
# (a fast shutdown) first; a synchronous standby waits a loop or two to be released.
# etcd members stopped together each try to hand leadership to a peer that is leaving
# too (7 s measured); with Patroni gone their data has no reader left, and it is deleted.
STOP_SECONDS = {"serving": 10.0, "patroni": 20.0, "etcd": 2.0}


@dataclass(frozen=True, slots=True)
class RunningCluster:
    """A cluster `up` has brought up, and what it took."""

    layout: Layout
    credentials: Credentials
    seconds: float
    """From `up`'s start until the balancer served."""

    @property
    def db_url(self) -> str:
        return self.layout.db_url(self.credentials.db_password)

    @property
    def public_url(self) -> str:
        return self.layout.public_url


def quiet(_: str) -> None:
    """A report that says nothing."""


def is_up(layout: Layout) -> bool:
    """Whether any of the layout's network is there (a cluster up, or a crashed one)."""
    return bool(netns.namespaces(layout) or netns.links(layout))


def up(
    layout: Layout,
    credentials: Credentials | None = None,
    *,
    timeout: float = 120,
    report: Report = quiet,
) -> RunningCluster:
    """Bring the whole layout up; on any failure take down what was started, keep the
    logs, and raise ClusterError."""
    lacking = missing()
    if lacking:
        raise ClusterError("cannot run the cluster here; missing: " + "; ".join(lacking))
    if is_up(layout):
        raise ClusterError(
            f"a cluster with prefix {layout.prefix!r} is up: `launchday cluster down` first"
        )
    started = time.monotonic()
    credentials = credentials or Credentials.generate()
    try:
        prepare_run_dir(layout, credentials)
        report(f"network: bridge {layout.bridge} {layout.bridge_address}/24, namespaces")
        netns.create_network(layout)
        start_all(layout, credentials, started + timeout, report)
    except BaseException:
        with contextlib.suppress(ClusterError):  # the first failure is the one to tell
            down(layout)
        raise
    return RunningCluster(layout, credentials, time.monotonic() - started)


def start_all(layout: Layout, credentials: Credentials, deadline: float, report: Report) -> None:
    """Each tier started and waited for before the next: etcd, Patroni, the schema, the
    API hosts and the balancer."""

    def left() -> float:
        return max(deadline - time.monotonic(), 1.0)

    etcd = [*map(processes.start, daemons.etcd_members(layout))]
    report("etcd: 3 members started")
    wait_until("etcd healthy", lambda: etcd_healthy(layout), left(), etcd)
    patroni = [*map(processes.start, daemons.patronis(layout, credentials))]
    report("patroni: 3 members started")
    wait_until(
        "a leader and a synchronous standby", lambda: database_replicated(layout), left(), patroni
    )
    report("database: leader and synchronous standby; migrating")
    applied = migrate(layout, credentials, deadline)
    report(f"schema: {len(applied)} migrations applied")
    serving = [*map(processes.start, daemons.api_servers(layout, credentials))]
    serving.append(processes.start(daemons.balancer(layout)))
    report(f"api hosts and haproxy started; waiting for {layout.public_url}/healthz")
    wait_until(
        "every API host serving through HAProxy",
        lambda: balancer_serving(layout),
        left(),
        [*serving, *patroni],
    )


def migrate(layout: Layout, credentials: Credentials, deadline: float) -> list[str]:
    """launchday's migrations through the cluster's multi-host URL, tried again until
    `deadline` while the primary is still finishing its bootstrap (its post-bootstrap
    script makes launchday's role just after Patroni names it leader)."""
    from launchday.services.ports.store import StoreUnavailable
    from launchday.store.migrations import migrate_database

    while True:
        try:
            return migrate_database(layout.db_url(credentials.db_password))
        except StoreUnavailable as error:
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"the schema could not be applied through {layout.db_url('***')}: "
                    f"{error.__cause__}"
                ) from None
            time.sleep(0.5)


def prepare_run_dir(layout: Layout, credentials: Credentials) -> None:
    """A fresh folder per node (a previous run's data and logs removed), the rendered
    configurations, the credentials; the database nodes' folders the postgres user's."""
    run_dir = layout.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)
    unreachable = [p for p in (run_dir, *run_dir.parents) if not p.stat().st_mode & 0o001]
    if unreachable:
        raise ClusterError(
            f"PostgreSQL runs as the {POSTGRES_OS_USER} user, who cannot enter "
            f"{unreachable[-1]}: choose --dir in a folder others may enter (e.g. /var/tmp)"
        )
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None  # `missing()` said so before
    credentials.save(layout.credentials_file)
    script = run_dir / configs.POST_BOOTSTRAP_FILE
    script.write_text(configs.shipped_text(configs.POST_BOOTSTRAP_FILE))
    script.chmod(0o755)
    etcd_text = configs.shipped_text(configs.ETCD_FILE)
    patroni_text = configs.shipped_text(configs.PATRONI_FILE)
    postgres = pwd.getpwnam(POSTGRES_OS_USER)
    for node in layout.nodes:
        folder = layout.node_dir(node)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        if node.role is Role.DATABASE:
            (folder / "etcd.yml").write_text(configs.etcd_config(layout, node, etcd_text))
            patroni_file = folder / "patroni.yml"
            patroni_file.write_text(
                configs.patroni_config(layout, node, credentials, patroni_text, bin_dir)
            )
            # Passwords inside: the postgres user's alone.
            patroni_file.chmod(0o600)
            for path in (folder, patroni_file):
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
            folder.chmod(0o700)
    balancer_dir = layout.node_dir(layout.balancer)
    (balancer_dir / "haproxy.cfg").write_text(
        configs.haproxy_config(layout, configs.shipped_text(configs.HAPROXY_FILE))
    )


def down(layout: Layout, *, report: Report = quiet) -> None:
    """Stop every daemon, anything else left in the namespaces, and delete the network;
    the logs stay in the run folder, the databases' and etcd's data go. Safe to run
    twice, or after a crash."""
    members = read_members(layout) if netns.namespaces(layout) else None
    primary = leader(members) if members else None
    tiers = daemons.stopping_order(layout, primary.name if primary else None)
    names = ("serving", "patroni", "patroni", "etcd")
    for name, tier in zip(names, tiers, strict=True):
        processes.stop(tier, STOP_SECONDS[name])
    for namespace in netns.namespaces(layout):
        processes.sweep(namespace)
    netns.delete_network(layout)
    for node in layout.databases:
        for data in ("data", "etcd"):
            shutil.rmtree(layout.node_dir(node) / data, ignore_errors=True)
    left = netns.namespaces(layout) + netns.links(layout)
    if left:
        raise ClusterError(f"could not delete {', '.join(left)}: see `ip netns pids`")
    report(f"down: no namespace, veth or bridge with prefix {layout.prefix!r} left")


def status(layout: Layout) -> list[Member] | None:
    """The database members and their roles; None when no Patroni answers."""
    return read_members(layout)
