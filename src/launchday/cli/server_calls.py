"""Commands that ask a running server (over HTTP, with the admin key) what it knows."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from launchday.cli.app import console

UrlOption = Annotated[
    str,
    typer.Option(envvar="LAUNCHDAY_URL", help="Base URL of the launchday server"),
]
KeyOption = Annotated[
    str, typer.Option(envvar="LAUNCHDAY_ADMIN_KEY", help="The server's admin key")
]
LaunchOption = Annotated[str, typer.Option(help="The launch's slug")]


def call_server(method: str, url: str, key: str, path: str, body: Any = None) -> Any:
    """The server's answer as JSON; its error, or a failed connection, ends with status 2."""
    try:
        response = httpx.request(
            method,
            url.rstrip("/") + path,
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        )
    except httpx.HTTPError as error:
        console.print(f"[red]cannot reach {url}: {error}[/red]")
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        try:
            refusal = response.json()["error"]
            where = f" ({refusal['field']})" if refusal.get("field") else ""
            code, message = refusal["code"], refusal["message"]
            console.print(f"[red]{response.status_code} {code}: {message}{where}[/red]")
        except (ValueError, KeyError, TypeError):
            console.print(f"[red]{response.status_code}: {response.text[:500]}[/red]")
        raise typer.Exit(2)
    return response.json()
