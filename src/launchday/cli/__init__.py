"""The `launchday` command: thin, it parses arguments and calls the package.

`commands` holds serve, db, token and report; `rehearsals` holds demo and simulate,
and `rehearse` what those two share; `supply` the production plan, supply risk and
what-ifs, `stores` the store network, both asked of a running server; `cluster` the
production layout on one machine, in network namespaces, and `cluster_routes` the load
balancer's routes placing launches on clusters.
"""

from __future__ import annotations

from launchday.cli import (
    access,
    cluster,
    cluster_routes,
    commands,
    payments,
    rehearsals,
    stores,
    supply,
)
from launchday.cli.app import app, free_port

__all__ = [
    "access",
    "app",
    "cluster",
    "cluster_routes",
    "commands",
    "free_port",
    "main",
    "payments",
    "rehearsals",
    "stores",
    "supply",
]


def main() -> None:
    app()
