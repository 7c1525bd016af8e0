"""`launchday serve`, `db upgrade`, `token` and `report`: thin, they parse arguments and
call the package."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from launchday.cli.app import DbOption, ReplicaOption, app, console, load_settings
from launchday.config import DEFAULT_DB, ConfigError, check_replica, redacted
from launchday.server import serve_app, serve_workers
from launchday.services.ports.store import StoreUnavailable

if TYPE_CHECKING:
    from launchday.store.sql import Connection

T = TypeVar("T")


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes")] = 1,
    replica: ReplicaOption = None,
) -> None:
    """Run the API."""
    if workers < 1:
        console.print("[red]--workers must be at least 1[/red]")
        raise typer.Exit(2)
    settings = load_settings(db, replica=replica)
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
        + (f"  reports on {redacted(settings.replica_url)}" if settings.replica_url else "")
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
    replica: ReplicaOption = None,
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
    from launchday.analytics.report import Report
    from launchday.analytics.report_files import write_report_files
    from launchday.analytics.report_text import print_report
    from launchday.domain.errors import DomainError
    from launchday.store.reads import SnapshotReads
    from launchday.store.sql import ReadConnection

    replica = replica or os.environ.get("LAUNCHDAY_REPLICA_DB") or None
    # With a standby named and no database, the standby alone is read.
    url = db or os.environ.get("LAUNCHDAY_DB") or (None if replica else DEFAULT_DB)
    if replica is not None:
        try:
            check_replica(url or replica, replica)
        except ConfigError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None
    now = datetime.now(UTC)

    def build(conn: Connection) -> tuple[Report, Report | None]:
        reads = SnapshotReads(ReadConnection(conn))
        built = build_report(reads, launch, compare=compare, now=now)
        return built, (build_report(reads, compare, now=now) if compare else None)

    conn = _open_database(url) if url is not None else None
    try:
        if replica is None:
            assert conn is not None
            built, other = build(conn)
        else:
            built, other = _on_standby(replica, conn, build)
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
        if conn is not None:
            conn.close()
    if out is not None:
        written = write_report_files(built, out, other=other)
    if as_json:
        typer.echo(msgspec.json.format(msgspec.json.encode(built), indent=2).decode())
    else:
        print_report(built, console)
        if out is not None:
            console.print(f"written: {', '.join(p.name for p in written)} in {out}")


def _open_database(url: str) -> Connection:
    """A read connection to the database at `url`, or a clear message and exit 2."""
    from launchday.store import postgres, sqlite

    if postgres.is_postgres_url(url):
        try:
            return postgres.connect(url)
        except StoreUnavailable as error:
            console.print(f"[red]cannot connect to PostgreSQL: {error.__cause__}[/red]")
            raise typer.Exit(2) from None
    if not url.startswith("sqlite:"):
        console.print(
            f"[red]unsupported database URL {url!r}: use sqlite:///path/to/file.db"
            " or postgresql://...[/red]"
        )
        raise typer.Exit(2)
    try:
        path = sqlite.sqlite_path(url)
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    if not Path(path).exists():
        console.print(f"[red]no database at {path}[/red]")
        raise typer.Exit(2)
    return sqlite.connect(path, readonly=True)


def _on_standby(replica: str, primary: Connection | None, build: Callable[[Connection], T]) -> T:
    """`build` on the standby: once it has replayed the primary's last commit when the
    primary is at hand (else on the primary, with a note), or as it is when it is not."""
    import psycopg

    from launchday.store import replica as standby

    def note(text: str) -> None:
        typer.echo(f"note: {text}", err=True)  # stderr: --json output stays JSON

    if primary is not None:
        return standby.Standby(replica, pass_over_seconds=0, warn=note).run(
            build,
            primary_lsn=lambda: standby.primary_lsn(primary),
            on_primary=lambda: build(primary),
        )
    try:
        conn = standby.connect_standby(replica)
    except psycopg.OperationalError as error:
        console.print(f"[red]cannot connect to the standby: {error}[/red]")
        raise typer.Exit(2) from None
    try:
        if not standby.in_recovery(conn):
            note(f"{redacted(replica)} is not a standby (it is not in recovery): read as it is")
        return build(conn)
    finally:
        conn.close()
