"""`launchday demo --cluster`: the rehearsal through HAProxy, on the production layout
brought up on one machine (docs/cluster.md), then the cluster's state and down again."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from launchday.cli.app import console

if TYPE_CHECKING:
    from launchday.sim.rehearsal import RehearsalPlan, RehearsalResult


# Names and addresses of the demo's own, beside a `launchday cluster up` (ld, 10.231.0)
# and the tests' (ldtest, 10.231.7).
DEMO_PREFIX = "lddemo"
DEMO_SUBNET = "10.231.5"


def rehearse_on_cluster(
    plan: RehearsalPlan, out: Path, admin_key: str, secret: bytes, keep: bool
) -> RehearsalResult:
    """Bring the cluster up (its run folder under /tmp), rehearse `plan` through its balancer, write
    the report, show which member led and which followed in sync; take it down unless
    `keep`."""
    from launchday.cli.cluster import layout_of, print_running
    from launchday.cli.rehearse import run_rehearsal, write_report
    from launchday.cluster import ClusterError, Credentials, down, status, up

    # Under /tmp: PostgreSQL runs as the postgres user, who must reach its data folder
    # (a home or project folder may be closed to it).
    run_dir = Path(tempfile.mkdtemp(prefix="launchday-demo-cluster-"))
    layout = layout_of(run_dir, DEMO_SUBNET, DEMO_PREFIX)
    credentials = Credentials.generate(admin_key=admin_key, secret=secret.decode())
    try:
        running = up(layout, credentials, report=lambda step: console.print(f"[dim]{step}[/dim]"))
    except ClusterError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    try:
        print_running(running)
        options = plan.options
        console.print(
            f"{options.scenario.name}: replaying {options.until:g} s of launch time at"
            f" x{options.speed:g}, scale {options.scale:g}, through HAProxy at"
            f" {running.public_url} ({len(layout.api_nodes)} API hosts, 3 PostgreSQL)"
        )
        result = run_rehearsal(console, running.public_url, admin_key, secret, plan)
        page = write_report(result, out)
        console.print(f"report: {page} (and report.json and the charts beside it)")
        members = status(layout) or []
        table = Table(title="the database cluster after the rehearsal")
        for column in ("member", "role", "state", "lag (MB)"):
            table.add_column(column)
        for member in members:
            lag = member.lag if not isinstance(member.lag, int) else f"{member.lag / 1e6:.1f}"
            lag = lag or ""
            table.add_row(member.name, member.role, member.state, lag)
        console.print(table)
        if keep:
            console.print(
                f"the cluster stays up: launchday cluster down --dir {layout.run_dir}"
                f" --prefix {DEMO_PREFIX} --subnet {DEMO_SUBNET}",
                highlight=False,
            )
        return result
    finally:
        if not keep:
            down(layout, report=lambda step: console.print(f"[dim]{step}[/dim]"))
