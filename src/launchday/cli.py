"""The `launchday` command: thin, it parses arguments and calls the package."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from launchday.config import ConfigError, Settings
from launchday.server import serve_app

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


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes")] = 1,
) -> None:
    """Run the API."""
    settings = load_settings(db)
    if workers != 1 and settings.db_url.startswith("sqlite:"):
        console.print("[red]SQLite takes one server process: run --workers 1.[/red]")
        raise typer.Exit(2)
    if settings.admin_key_generated:
        typer.echo(f"admin key (set LAUNCHDAY_ADMIN_KEY to choose one): {settings.admin_key}")
    typer.echo(f"launchday on http://{host}:{port}  database {settings.db_url}")
    serve_app(settings, host, port)


@app.command()
def token(
    customer: Annotated[str, typer.Option(help="Customer id (the token's sub)")],
    db: DbOption = None,
    hours: Annotated[float, typer.Option(help="Validity in hours")] = 24,
) -> None:
    """Print a customer token for testing."""
    from launchday.api.app import utc_now
    from launchday.api.auth import MAX_CUSTOMER_ID, mint_customer_token

    if not 0 < len(customer) <= MAX_CUSTOMER_ID:
        console.print(f"[red]--customer must be 1 to {MAX_CUSTOMER_ID} characters[/red]")
        raise typer.Exit(2)
    settings = load_settings(db)
    typer.echo(mint_customer_token(settings.secret, customer, utc_now(), timedelta(hours=hours)))


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Directory for the database and outputs")] = Path(
        "launchday-demo"
    ),
    port: Annotated[int, typer.Option(help="Port (0 = any free port)")] = 0,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    scenario: Annotated[str, typer.Option(help="Packaged scenario name or TOML file")] = "yu7-2025",
) -> None:
    """Serve a sample launch, open for orders now, and show how to order with curl."""
    from launchday.demo import run_sample_server

    out.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{(out / 'launchday.db').resolve()}"
    env = dict(os.environ)
    env.pop("LAUNCHDAY_DB", None)
    settings = load_settings(db_url, env)
    run_sample_server(settings, host, port or free_port(host), scenario, console)


def load_settings(db: str | None, env: dict[str, str] | None = None) -> Settings:
    """Settings from the environment, or a clear message and exit status 2."""
    try:
        return Settings.from_env(env, db_url=db)
    except (ConfigError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def main() -> None:
    app()
