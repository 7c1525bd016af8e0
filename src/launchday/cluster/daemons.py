"""Every daemon of the one-machine cluster, in the order they start: etcd on the three
database nodes, Patroni (which runs PostgreSQL) on them, `launchday serve` on each API
host, HAProxy on the balancer."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from launchday.cluster.credentials import Credentials
from launchday.cluster.layout import API_PORT, POSTGRES_OS_USER, Layout, Node
from launchday.cluster.processes import Daemon

ETCD = "etcd"
PATRONI = "patroni"
LAUNCHDAY = "launchday"
HAPROXY = "haproxy"


def daemon(
    layout: Layout,
    node: Node,
    name: str,
    *command: str,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Daemon:
    log, pid_file = layout.log_file(node, name), layout.pid_file(node, name)
    return Daemon(name, node, command, log, pid_file, user=user, env=env or {})


def etcd_members(layout: Layout) -> list[Daemon]:
    return [
        daemon(layout, n, ETCD, "etcd", "--config-file", str(layout.node_dir(n) / "etcd.yml"))
        for n in layout.databases
    ]


def patronis(layout: Layout, credentials: Credentials | None) -> list[Daemon]:
    """Patroni as the postgres user; the post-bootstrap script reads the password of
    launchday's role from its environment. (Without `credentials`: to be found and
    stopped, not started.)"""
    password = credentials.db_password if credentials else ""
    return [
        daemon(
            layout,
            n,
            PATRONI,
            "patroni",
            str(layout.node_dir(n) / "patroni.yml"),
            user=POSTGRES_OS_USER,
            env={"LAUNCHDAY_DB_PASSWORD": password},
        )
        for n in layout.databases
    ]


def api_servers(layout: Layout, credentials: Credentials | None) -> list[Daemon]:
    """`launchday serve --workers 1` on each API host, with this Python and its path, so
    the hosts run the code that started them."""
    env = {}
    if credentials is not None:
        env = {
            "LAUNCHDAY_DB": layout.db_url(credentials.db_password),
            "LAUNCHDAY_ADMIN_KEY": credentials.admin_key,
            "LAUNCHDAY_SECRET": credentials.secret,
        }
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return [
        daemon(
            layout,
            n,
            LAUNCHDAY,
            sys.executable,
            "-m",
            "launchday",
            "serve",
            "--host",
            n.address,
            "--port",
            str(API_PORT),
            "--workers",
            "1",
            env=env,
        )
        for n in layout.api_nodes
    ]


def balancer(layout: Layout) -> Daemon:
    """HAProxy in the foreground (`-db`), logging to its own output."""
    config = str(layout.node_dir(layout.balancer) / "haproxy.cfg")
    return daemon(layout, layout.balancer, HAPROXY, "haproxy", "-db", "-f", config)


def stopping_order(layout: Layout, leader: str | None) -> list[list[Daemon]]:
    """The daemons in the tiers `down` stops them in: what serves buyers first (no new
    writes); then the standbys' Patroni (a synchronous standby waits for the running
    primary to release it, so that no commit waits for it), then the leader's; Patroni
    stops its PostgreSQL. etcd last: Patroni needs it until it has stopped."""
    members = patronis(layout, None)
    standbys = [d for d in members if d.node.name != leader]
    return [
        [balancer(layout), *api_servers(layout, None)],
        standbys,
        [d for d in members if d.node.name == leader],
        etcd_members(layout),
    ]
