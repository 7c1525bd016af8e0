"""`launchday serve`, `db upgrade`, `token` and `report`: thin, they parse arguments and
call the package."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse, urlunparse

import typer

from launchday.cli.app import DbOption, app, console, load_settings
from launchday.config import DEFAULT_DB
from launchday.server import serve_app, serve_workers
from launchday.services.ports.store import StoreUnavailable


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes")] = 1,
) -> None:
    """Run the API."""
    if workers < 1:
        console.print("[red]--workers must be at least 1[/red]")
        raise typer.Exit(2)
    settings = load_settings(db)
    if workers != 1 and settings.db_url.startswith("sqlite:"):
        console.print(
            "[red]SQLite takes one server process: run --workers 1, or use PostgreSQL.[/red]"
        )
        raise typer.Exit(2)
    if settings.admin_key_generated:
        typer.echo(f"admin key (set LAUNCHDAY_ADMIN_KEY to choose one): {settings.admin_key}")
    typer.echo(
        f"launchday on http://{host}:{port}  database {redacted(settings.db_url)}"
        + (f"  {workers} workers" if workers > 1 else "")
    )
    if workers > 1:
        serve_workers(settings, host, port, workers)
    else:
        serve_app(settings, host, port)


db_app = typer.Typer(help="The database: its schema version and migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply the schema migrations not yet applied (servers also do this on start)."""
    from launchday.store.migrations import migrate_database

    url = db or os.environ.get("LAUNCHDAY_DB") or DEFAULT_DB
    try:
        applied = migrate_database(url)
    except (ValueError, StoreUnavailable) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    if applied:
        typer.echo(f"applied: {', '.join(applied)}")
    else:
        typer.echo("the schema is up to date")


def redacted(url: str) -> str:
    """A database URL without its password, for printing."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
    return urlunparse(parsed._replace(netloc=netloc))


@app.command()
def token(
    customer: Annotated[str, typer.Option(help="Customer id (the token's sub)")],
    db: DbOption = None,
    hours: Annotated[float, typer.Option(help="Validity in hours")] = 24,
) -> None:
    """Print a customer token for testing."""
    from launchday.api.auth import mint_customer_token
    from launchday.identity import MAX_CUSTOMER_ID
    from launchday.store import database_secret, signing_secret
    from launchday.wall_clock import utc_now

    if not 0 < len(customer) <= MAX_CUSTOMER_ID:
        console.print(f"[red]--customer must be 1 to {MAX_CUSTOMER_ID} characters[/red]")
        raise typer.Exit(2)
    settings = load_settings(db)
    try:
        instance = settings.secret or database_secret(settings.db_url)
        secret = signing_secret(settings.db_url, instance)
    except (ValueError, StoreUnavailable) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    typer.echo(mint_customer_token(secret, customer, utc_now(), timedelta(hours=hours)))


@app.command()
def report(
    launch: Annotated[str, typer.Option(help="The launch's slug")],
    db: DbOption = None,
    compare: Annotated[
        str | None, typer.Option(help="Another launch to compare with, on time since opening")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write report.json into this folder")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """The launch report: totals, milestones, composition and the comparison."""
    import msgspec
    import psycopg

    from launchday.analytics import build_report
    from launchday.analytics.report_files import write_report_files
    from launchday.analytics.report_text import print_report
    from launchday.domain.errors import DomainError
    from launchday.store import postgres, sqlite
    from launchday.store.reads import SnapshotReads
    from launchday.store.sql import Connection, ReadConnection

    url = db or os.environ.get("LAUNCHDAY_DB") or DEFAULT_DB
    conn: Connection
    if postgres.is_postgres_url(url):
        try:
            conn = postgres.connect(url)
        except StoreUnavailable as error:
            console.print(f"[red]cannot connect to PostgreSQL: {error.__cause__}[/red]")
            raise typer.Exit(2) from None
    elif not url.startswith("sqlite:"):
        console.print(
            f"[red]unsupported database URL {url!r}: use sqlite:///path/to/file.db"
            " or postgresql://...[/red]"
        )
        raise typer.Exit(2)
    else:
        try:
            path = sqlite.sqlite_path(url)
        except ValueError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None
        if not Path(path).exists():
            console.print(f"[red]no database at {path}[/red]")
            raise typer.Exit(2)
        conn = sqlite.connect(path, readonly=True)
    now = datetime.now(UTC)
    try:
        reads = SnapshotReads(ReadConnection(conn))
        built = build_report(reads, launch, compare=compare, now=now)
        other = build_report(reads, compare, now=now) if compare else None
    except DomainError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from None
    except psycopg.errors.UndefinedTable:
        console.print("[red]no launchday tables in this database: has a server run on it?[/red]")
        raise typer.Exit(2) from None
    except psycopg.OperationalError as error:
        console.print(f"[red]the database went away: {error}[/red]")
        raise typer.Exit(2) from None
    finally:
        conn.close()
    if out is not None:
        written = write_report_files(built, out, other=other)
    if as_json:
        typer.echo(msgspec.json.format(msgspec.json.encode(built), indent=2).decode())
    else:
        print_report(built, console)
        if out is not None:
            console.print(f"written: {', '.join(p.name for p in written)} in {out}")
