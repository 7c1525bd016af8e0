"""The `launchday` Typer app and what its commands share: the console, settings, ports."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
from rich.console import Console

from launchday.config import ConfigError, Settings

app = typer.Typer(
    name="launchday",
    help="Take a blockbuster product launch's orders.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

DbOption = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: $LAUNCHDAY_DB or sqlite)")
]
ReplicaOption = Annotated[
    str | None,
    typer.Option(
        "--replica",
        help="A hot standby of the PostgreSQL database that reports read from"
        " (default: $LAUNCHDAY_REPLICA_DB; docs/replica.md)",
    ),
]


def load_settings(
    db: str | None, env: dict[str, str] | None = None, replica: str | None = None
) -> Settings:
    """Settings from the environment, or a clear message and exit status 2."""
    try:
        return Settings.from_env(env, db_url=db, replica_url=replica)
    except (ConfigError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
