"""`launchday ledger check` and `launchday reconcile`: a launch's deposits, checked
against the ledger's invariants and against the payment provider's own records, by
asking a running server."""

from __future__ import annotations

import typer
from rich.table import Table

from launchday.cli.app import app, console
from launchday.cli.server_calls import KeyOption, LaunchOption, UrlOption, call_server

ledger = typer.Typer(help="The deposits' double-entry ledger.", no_args_is_help=True)
app.add_typer(ledger, name="ledger")


@ledger.command("check")
def check(
    launch: LaunchOption,
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """Print the launch's balances beside what its orders say they must be; exit 1 if
    an invariant is broken."""
    books = call_server("GET", url, admin_key, f"/api/v1/launches/{launch}/ledger")
    table = Table(title=f"{launch}: ledger as of {books['at']} ({books['currency']}, minor units)")
    table.add_column("account")
    table.add_column("balance", justify="right")
    table.add_column("the orders say", justify="right")
    for account, balance in books["balances"].items():
        expected = books["expected"].get(account)
        sign = -1 if account != "provider_clearing" else 1
        table.add_row(account, f"{balance:,}", "" if expected is None else f"{sign * expected:,}")
    console.print(table)
    for problem in books["discrepancies"]:
        console.print(f"[red]{problem}[/red]")
    if not books["holds"]:
        raise typer.Exit(1)
    console.print("[green]the ledger holds: the accounts sum to zero and match the orders[/green]")


@app.command("reconcile")
def reconcile(
    launch: LaunchOption,
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """Compare the launch's deposits with the payment provider's charges and refunds,
    order by order; exit 1 if any differs."""
    found = call_server("GET", url, admin_key, f"/api/v1/launches/{launch}/reconciliation")
    console.print(
        f"{launch}: {found['provider_intents']:,} intents and {found['provider_refunds']:,}"
        f" refunds at {found['provider']} for the launch's orders"
    )
    if found["matches"]:
        console.print("[green]every deposit and refund matches the provider's records[/green]")
        return
    table = Table(title="differences")
    table.add_column("order")
    table.add_column("difference")
    table.add_column("detail")
    for difference in found["differences"]:
        table.add_row(difference["order"], difference["kind"], difference["detail"])
    console.print(table)
    raise typer.Exit(1)
