"""`launchday keys` and `launchday audit`: the people who run a launch, their API keys
and what they changed, by asking a running server with an admin key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

import typer
from rich.table import Table

from launchday.cli.app import app, console
from launchday.cli.server_calls import KeyOption, UrlOption, call_server

keys = typer.Typer(
    help="API keys with a role, for the people who run a launch.", no_args_is_help=True
)
app.add_typer(keys, name="keys")

ROLE_HELP = "admin, operator, analyst, support or store"


@keys.command("create")
def create(
    name: Annotated[str, typer.Option(help="The key's name, unique: the audit shows it")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    launch: Annotated[str | None, typer.Option(help="The one launch it acts on")] = None,
    store: Annotated[str | None, typer.Option(help="Its store (a store key needs one)")] = None,
    expires_in_days: Annotated[
        float | None, typer.Option(help="It stops working after this many days")
    ] = None,
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """Make a key and print its text, shown this once."""
    body: dict[str, object] = {"name": name, "role": role}
    if launch is not None:
        body["launch"] = launch
    if store is not None:
        body["store"] = store
    if expires_in_days is not None:
        expires = datetime.now(UTC) + timedelta(days=expires_in_days)
        body["expires_at"] = expires.isoformat()
    made = call_server("POST", url, admin_key, "/api/v1/keys", body)
    details = made["details"]
    console.print(f"key {details['name']} ({details['role']}), id {details['id']}")
    console.print("its text, shown this once (send it as Authorization: Bearer ...):")
    print(made["key"])


@keys.command("list")
def list_keys(url: UrlOption = "http://127.0.0.1:8000", admin_key: KeyOption = "") -> None:
    """Every key, with its role, binding, expiry, revocation and last use."""
    found = call_server("GET", url, admin_key, "/api/v1/keys")["keys"]
    table = Table(title=f"{len(found)} API keys")
    for column in ("id", "name", "role", "bound to", "expires", "revoked", "last used"):
        table.add_column(column)
    for key in found:
        bound = ", ".join(f"{k} {key[k]}" for k in ("launch", "store") if key.get(k))
        table.add_row(
            key["id"],
            key["name"],
            key["role"],
            bound or "-",
            key.get("expires_at", "-"),
            key.get("revoked_at", "-"),
            key.get("last_used_at", "-"),
        )
    console.print(table)


@keys.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (launchday keys list)")],
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """Revoke a key: refused at once, on every server process within a second."""
    revoked = call_server("DELETE", url, admin_key, f"/api/v1/keys/{key_id}")
    console.print(f"key {revoked['name']} revoked at {revoked['revoked_at']}")


@app.command("audit")
def audit(
    since: Annotated[str | None, typer.Option(help="Only changes after (RFC 3339)")] = None,
    key: Annotated[str | None, typer.Option(help="Only the changes of this key's name")] = None,
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """Every change made with a key: who, with which role, when, and the change."""
    query = urlencode({k: v for k, v in (("since", since), ("key", key)) if v is not None})
    path = "/api/v1/audit" + (f"?{query}" if query else "")
    entries = call_server("GET", url, admin_key, path)["entries"]
    table = Table(title=f"{len(entries)} changes")
    for column in ("at", "key", "role", "call", "status", "change"):
        table.add_column(column)
    for entry in entries:
        call = f"{entry['method']} {entry['path']}"
        table.add_row(
            entry["at"], entry["key"], entry["role"], call, str(entry["status"]), entry["change"]
        )
    console.print(table)


secret = typer.Typer(help="The secret of launchday's own tokens.", no_args_is_help=True)
app.add_typer(secret, name="secret")


@secret.command("rotate")
def rotate(
    previous_verifies_minutes: Annotated[
        float, typer.Option(help="How long tokens signed with the old secret still pass")
    ] = 60,
    url: UrlOption = "http://127.0.0.1:8000",
    admin_key: KeyOption = "",
) -> None:
    """A new secret signs customer and admission tokens on every server process (within
    a second); the old one verifies for a while more, then retires."""
    body = {"previous_verifies_for_seconds": round(previous_verifies_minutes * 60)}
    made = call_server("POST", url, admin_key, "/api/v1/secrets/rotate", body)
    console.print(
        f"generation {made['generation']} signs from {made['rotated_at']};"
        f" the previous secret verifies until {made['previous_verifies_until']}"
    )
