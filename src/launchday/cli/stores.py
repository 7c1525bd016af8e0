"""`launchday stores`: the brand's store network, imported from CSV and listed, by
asking a running server with an admin key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from launchday.cli.app import app, console
from launchday.cli.server_calls import KeyOption, UrlOption, call_server
from launchday.cli.store_csv import CsvProblem, read_stores

stores = typer.Typer(help="The brand's stores and delivery centres.", no_args_is_help=True)
app.add_typer(stores, name="stores")


@stores.command("import")
def import_stores(
    csv_file: Annotated[Path, typer.Argument(help="The stores, one a row (docs/stores.md)")],
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """Keep every store of the file (new, or in place of the one with its id). A row the
    file gets wrong is named with its line and skipped; the rest are kept."""
    if not csv_file.is_file():
        console.print(f"[red]no file {csv_file}[/red]")
        raise typer.Exit(2)
    kept, problems = 0, 0
    for row in read_stores(csv_file):
        if isinstance(row, CsvProblem):
            console.print(f"[red]{row}[/red]")
            problems += 1
            continue
        try:
            call_server("PUT", url, admin_key, f"/api/v1/stores/{row.id}", row.body)
        except typer.Exit:
            console.print(f"[red]line {row.line}: store {row.id} refused[/red]")
            problems += 1
            continue
        kept += 1
    console.print(f"{kept} stores kept, {problems} rows refused")
    if problems:
        raise typer.Exit(2)


@stores.command("list")
def list_stores(
    region: Annotated[str | None, typer.Option(help="ISO 3166-2 region, e.g. CN-BJ")] = None,
    kind: Annotated[str | None, typer.Option(help="sales, delivery or service")] = None,
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """The stores, of a region and kind."""
    query = "&".join(f"{k}={v}" for k, v in (("region", region), ("kind", kind)) if v)
    found = call_server("GET", url, admin_key, f"/api/v1/stores?limit=500&{query}")["stores"]
    table = Table(title=f"{len(found)} stores")
    for column in ("id", "name", "kinds", "city", "region", "demo cars", "bays"):
        table.add_column(column)
    for store in found:
        spec = store["store"]
        cars = ", ".join(f"{sku} {n}" for sku, n in spec["demo_cars"].items())
        table.add_row(
            store["id"], spec["name"], ", ".join(spec["kinds"]), spec["city"], spec["region"],
            cars, str(spec["handover_bays"]),
        )  # fmt: skip
    console.print(table)
