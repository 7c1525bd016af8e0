"""`launchday cluster routes MAP`: HAProxy's configuration placing each launch on its
cluster (`launchday.cluster.launch_map`, docs/scaling.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from launchday.cli.app import console
from launchday.cli.cluster import cluster
from launchday.cluster.configs import HAPROXY_FILE, shipped_text
from launchday.cluster.launch_map import LaunchMapError, read_launch_map, routes_config


@cluster.command("routes")
def cluster_routes(
    map_file: Annotated[Path, typer.Argument(help="The launch-to-cluster map (TOML)")],
    out: Annotated[
        Path | None, typer.Option(help="Write the configuration here, not to the terminal")
    ] = None,
    bind: Annotated[
        str | None,
        typer.Option(help="Plain HTTP on this address:port only, for a rehearsal on one machine"),
    ] = None,
) -> None:
    """HAProxy's configuration sending each launch's host name and paths to its cluster."""
    try:
        launch_map = read_launch_map(map_file.read_text())
    except OSError as error:
        console.print(f"[red]cannot read {map_file}: {error.strerror}[/red]")
        raise typer.Exit(2) from None
    except LaunchMapError as error:
        console.print(f"[red]{map_file}: {error}[/red]")
        raise typer.Exit(2) from None
    config = routes_config(launch_map, shipped_text(HAPROXY_FILE), bind)
    if out is None:
        typer.echo(config, nl=False)
        return
    out.write_text(config)
    placed = ", ".join(f"{p.slug} on {p.cluster}" for p in launch_map.launches)
    console.print(f"written: {out} ({placed}); check it with haproxy -c -f {out}")
