"""`launchday demo`: a sample launch on a fresh embedded database, ready for orders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rich.console import Console

from launchday.api.app import App
from launchday.api.auth import mint_customer_token
from launchday.config import Settings
from launchday.server import serve_app
from launchday.sim.scenario import launch_spec, load_scenario
from launchday.store.sqlite import sqlite_path


def fresh_database(db_url: str) -> None:
    """Remove a previous demo's database files so every demo starts empty."""
    path = Path(sqlite_path(db_url))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_sample_server(
    settings: Settings, host: str, port: int, scenario_name: str, console: Console
) -> None:
    """Serve the scenario's launch, open from now, and print how to order with curl."""
    scenario = load_scenario(scenario_name)
    fresh_database(settings.db_url)
    base = f"http://{host}:{port}"

    async def create_sample(app: App) -> None:
        now = app.clock()
        spec = launch_spec(scenario, opens_at=now, time_scale=1, scale=1)
        launch = await app.service.create_launch(spec)
        token = mint_customer_token(settings.secret, "c-demo-1", now, timedelta(days=1))
        sku = launch.variants[0].sku
        hours = launch.deposit.refundable_hours
        bearer = '-H "Authorization: Bearer $TOKEN"'
        console.rule("launchday demo")
        # Plain lines, never wrapped or boxed, so each command pastes into a shell as is.
        console.print(
            "\n".join(
                [
                    f"{launch.name} is open for orders at {base}",
                    f"admin key: {settings.admin_key}",
                    "",
                    "# the launch, its variants and live counts",
                    f"curl -s {base}/api/v1/launches/{launch.slug}",
                    "",
                    "# place an order as customer c-demo-1",
                    f"TOKEN={token}",
                    f"curl -s -X POST {base}/api/v1/launches/{launch.slug}/orders \\",
                    '  -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: first-try" \\',
                    f"  -H 'Content-Type: application/json' -d '{{\"sku\": \"{sku}\"}}'",
                    "",
                    f"# read it, or cancel inside the {hours:g}-hour window (ID: from the answer)",
                    f"curl -s {base}/api/v1/orders/ID {bearer}",
                    f"curl -s -X POST {base}/api/v1/orders/ID/cancel {bearer}",
                    "",
                    f"# more customers: launchday token --customer ID --db {settings.db_url}",
                    f"# the API: {base}/openapi.json    metrics: {base}/metrics",
                    "",
                    "Ctrl-C stops the server.",
                ]
            ),
            soft_wrap=True,
            markup=False,
            highlight=False,
        )

    serve_app(settings, host, port, after_start=create_sample)
