"""`launchday production` and `launchday supply`: a launch's plan, what a supplier's or a
line's trouble would do, and which suppliers matter most, against a running server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from launchday.cli.app import app, console
from launchday.cli.server_calls import KeyOption, LaunchOption, UrlOption, call_server

production = typer.Typer(help="A launch's production plan.", no_args_is_help=True)
supply = typer.Typer(
    help="Supply risk and what-ifs over a launch's build queue.", no_args_is_help=True
)
app.add_typer(production, name="production")
app.add_typer(supply, name="supply")


@production.command("set")
def set_plan(
    launch: LaunchOption,
    file: Annotated[Path, typer.Option(help="The plan as JSON (docs/api.md)", exists=True)],
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """Set the launch's production plan; every queued order is promised again."""
    try:
        body = json.loads(file.read_text())
    except ValueError as error:
        console.print(f"[red]{file} is not JSON: {error}[/red]")
        raise typer.Exit(2) from None
    call_server("PUT", url, admin_key, f"/api/v1/launches/{launch}/production", body)
    quotes = call_server("GET", url, admin_key, f"/api/v1/launches/{launch}/delivery")
    table = Table(title=f"{launch}: what a new order is promised now")
    table.add_column("variant")
    table.add_column("weeks", justify="right")
    table.add_column("from")
    table.add_column("set by")
    for quote in quotes["variants"]:
        estimate = quote["estimate"]
        table.add_row(
            quote["sku"],
            _weeks(estimate["weeks"]),
            estimate["from"] or "-",
            _set_by(estimate["set_by"]),
        )
    console.print(table)


@production.command("show")
def show_plan(
    launch: LaunchOption, url: UrlOption = "http://127.0.0.1:8000", admin_key: KeyOption = ""
) -> None:
    """Print the launch's production plan as JSON."""
    typer.echo(
        json.dumps(
            call_server("GET", url, admin_key, f"/api/v1/launches/{launch}/production"), indent=2
        )
    )


@supply.command("risk")
def risk(
    launch: LaunchOption,
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
    outage_weeks: Annotated[int, typer.Option(min=1, max=520, help="How long each loss lasts")] = 4,
) -> None:
    """Suppliers ranked by the buyer-weeks of delay losing each would cause."""
    found = call_server(
        "GET", url, admin_key, f"/api/v1/launches/{launch}/supply/risk?outage_weeks={outage_weeks}"
    )
    table = Table(title=f"{launch}: losing a supplier for {outage_weeks} weeks from now")
    for column in (
        "supplier",
        "components",
        "buyer-weeks",
        "orders delayed",
        "never built",
        "sole source of",
    ):
        table.add_column(column, justify="right" if column[0] in "bon" else "left")
    for s in found["suppliers"]:
        sole = ", ".join(s["sole_source_of"]) or "-"
        table.add_row(
            s["supplier"], ", ".join(s["components"]), f"{s['buyer_weeks']:,}",
            f"{s['orders_delayed']:,}", f"{s['never_built']:,}", sole,
        )  # fmt: skip
    console.print(table)
    if found["single_sourced"]:
        console.print(f"single-sourced: {', '.join(found['single_sourced'])}")


@supply.command("what-if")
def what_if(
    launch: LaunchOption,
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
    outage: Annotated[
        list[str] | None,
        typer.Option(help="SUPPLIER:FROM_WEEK:WEEKS, the supplier delivers nothing (repeatable)"),
    ] = None,
    line_loss: Annotated[
        list[str] | None,
        typer.Option(help="LINE:SHARE:FROM_WEEK:WEEKS, e.g. yz-2:0.3:4:4 (repeatable)"),
    ] = None,
) -> None:
    """What supplier outages or line losses would do to every order; nothing is stored."""
    changes = [_outage(o) for o in outage or []] + [_line_loss(o) for o in line_loss or []]
    if not changes:
        console.print("[red]name at least one --outage or --line-loss[/red]")
        raise typer.Exit(2)
    found = call_server(
        "POST", url, admin_key, f"/api/v1/launches/{launch}/supply/what-if", {"changes": changes}
    )
    table = Table(title=f"{launch}: what the changes would do")
    for column in (
        "variant",
        "orders",
        "delayed",
        "mean delay (weeks)",
        "worst",
        "never built",
        "new order: now",
        "then",
    ):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in found["variants"]:
        table.add_row(
            v["sku"], f"{v['orders']:,}", f"{v['delayed']:,}", f"{v['mean_delay_weeks']:.1f}",
            str(v["worst_delay_weeks"]), f"{v['never_built']:,}",
            _weeks(v["new_order_weeks"]["before"]), _weeks(v["new_order_weeks"]["after"]),
        )  # fmt: skip
    console.print(table)
    if found["components"]:
        cut = Table(title="components cut: time to survive against time to recover")
        for column in ("component", "survive (weeks)", "recover (weeks)", "at risk"):
            cut.add_column(column)
        for c in found["components"]:
            survive = "whole horizon" if c["survive_weeks"] is None else str(c["survive_weeks"])
            cut.add_row(
                c["component"], survive, str(c["recover_weeks"]), "yes" if c["at_risk"] else "no"
            )
        console.print(cut)


def _outage(text: str) -> dict[str, Any]:
    parts = text.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        console.print(f"[red]--outage {text!r}: write SUPPLIER:FROM_WEEK:WEEKS[/red]")
        raise typer.Exit(2)
    return {
        "kind": "supplier_outage",
        "supplier": parts[0],
        "from_week": int(parts[1]),
        "weeks": int(parts[2]),
    }


def _line_loss(text: str) -> dict[str, Any]:
    parts = text.split(":")
    try:
        line, share, start, weeks = parts[0], float(parts[1]), int(parts[2]), int(parts[3])
    except (IndexError, ValueError):
        console.print(f"[red]--line-loss {text!r}: write LINE:SHARE:FROM_WEEK:WEEKS[/red]")
        raise typer.Exit(2) from None
    return {"kind": "line_loss", "line": line, "share": share, "from_week": start, "weeks": weeks}


def _weeks(weeks: list[int] | None) -> str:
    return "-" if weeks is None else f"{weeks[0]}-{weeks[1]}"


def _set_by(set_by: dict[str, Any] | None) -> str:
    if set_by is None:
        return "-"
    supplier = f" ({set_by['supplier']})" if set_by.get("supplier") else ""
    return f"{set_by['kind']} {set_by['id']}{supplier}"
