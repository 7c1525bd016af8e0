"""`launchday cluster up|status|down`: the production layout on one machine, each node in
a network namespace of its own (docs/cluster.md). Needs root and Debian's packages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from launchday.cli.app import app, console
from launchday.cluster import ClusterError, Credentials, Layout, RunningCluster, down, status, up
from launchday.cluster.layout import DEFAULT_PREFIX, DEFAULT_SUBNET, Role
from launchday.cluster.readiness import balanced_servers
from launchday.config import redacted

cluster = typer.Typer(
    help="The production layout on one machine, in network namespaces.", no_args_is_help=True
)
app.add_typer(cluster, name="cluster")

DirOption = Annotated[
    Path, typer.Option("--dir", help="The run folder: configurations, logs, data")
]
SubnetOption = Annotated[
    str, typer.Option(help="The first three octets of the cluster's private /24")
]
PrefixOption = Annotated[
    str, typer.Option(help="Names the namespaces, veths and bridge (one cluster per prefix)")
]

WHAT_RUNS = {
    Role.DATABASE: "etcd, Patroni, PostgreSQL",
    Role.API: "launchday serve --workers 1",
    Role.BALANCER: "HAProxy",
}


def layout_of(run_dir: Path, subnet: str, prefix: str, api_hosts: int = 2) -> Layout:
    try:
        return Layout(run_dir.resolve(), subnet, prefix, api_hosts)
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@cluster.command("up")
def cluster_up(
    run_dir: DirOption = Path(".cluster"),
    subnet: SubnetOption = DEFAULT_SUBNET,
    prefix: PrefixOption = DEFAULT_PREFIX,
    api_hosts: Annotated[int, typer.Option(help="API hosts behind HAProxy")] = 2,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it all")] = 120,
) -> None:
    """Start 3 etcd, 3 PostgreSQL under Patroni (synchronous), API hosts and HAProxy;
    return once orders can be placed through HAProxy. LAUNCHDAY_ADMIN_KEY and
    LAUNCHDAY_SECRET are used when set, else made up."""
    layout = layout_of(run_dir, subnet, prefix, api_hosts)
    credentials = Credentials.generate(
        admin_key=os.environ.get("LAUNCHDAY_ADMIN_KEY"), secret=os.environ.get("LAUNCHDAY_SECRET")
    )
    try:
        running = up(
            layout, credentials, timeout=timeout, report=lambda s: console.print(f"[dim]{s}[/dim]")
        )
    except ClusterError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    print_running(running)


def print_running(running: RunningCluster) -> None:
    layout = running.layout
    table = Table(title=f"launchday cluster up in {running.seconds:.1f} s")
    for column in ("node", "namespace", "address", "runs"):
        table.add_column(column)
    for node in layout.nodes:
        table.add_row(node.name, node.namespace, node.address, WHAT_RUNS[node.role])
    console.print(table)
    patroni = ", ".join(f"{layout.patroni_url(n)}/cluster" for n in layout.databases)
    for label, value in (
        ("orders", f"{layout.public_url}  (HAProxy; statistics at {layout.stats_url})"),
        ("database", redacted(running.db_url)),
        ("patroni", patroni),
        ("admin key", running.credentials.admin_key),
        ("credentials", str(layout.credentials_file)),
        ("logs", f"{layout.run_dir}/<node>/*.log"),
        ("stop", f"launchday cluster down --dir {layout.run_dir} --prefix {layout.prefix}"),
    ):
        console.print(f"{label + ':':13}{value}", highlight=False, soft_wrap=True)


@cluster.command("status")
def cluster_status(
    run_dir: DirOption = Path(".cluster"),
    subnet: SubnetOption = DEFAULT_SUBNET,
    prefix: PrefixOption = DEFAULT_PREFIX,
) -> None:
    """The database members' roles as Patroni reports them, and the API hosts as HAProxy
    sees them."""
    layout = layout_of(run_dir, subnet, prefix)
    members = status(layout)
    if members is None:
        console.print(f"[red]no Patroni answers on {layout.cidr}: is the cluster up?[/red]")
        raise typer.Exit(1)
    table = Table(title="database members (Patroni)")
    for column in ("member", "host", "role", "state", "timeline", "lag (bytes)"):
        table.add_column(column)
    for member in members:
        table.add_row(
            member.name, member.host, member.role, member.state,
            str(member.timeline or ""), "" if member.lag is None else str(member.lag),
        )  # fmt: skip
    console.print(table)
    servers = balanced_servers(layout)
    hosts = ", ".join(f"{name} {state}" for name, state in sorted(servers.items()))
    console.print(f"API hosts behind HAProxy: {hosts or 'HAProxy does not answer'}")


@cluster.command("down")
def cluster_down(
    run_dir: DirOption = Path(".cluster"),
    subnet: SubnetOption = DEFAULT_SUBNET,
    prefix: PrefixOption = DEFAULT_PREFIX,
) -> None:
    """Stop every process of the cluster, delete its namespaces, veths and bridge (the
    logs stay in the run folder). Safe to run twice, or after a crash."""
    try:
        down(layout_of(run_dir, subnet, prefix), report=console.print)
    except ClusterError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
