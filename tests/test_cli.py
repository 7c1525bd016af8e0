"""The `launchday` command, run as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt

from launchday.api.auth import mint_customer_token
from launchday.cli import free_port
from launchday.store.schema import STEPS
from tests.support import (
    ADMIN_KEY,
    SECRET,
    Database,
    SettableClock,
    in_process,
    launch_body,
    server_env,
    settings_for,
    start_server_process,
    wait_until_healthy,
)


def _launchday(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launchday", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_token_prints_a_customer_token_the_server_accepts(tmp_path: Path) -> None:
    db = tmp_path / "launchday.db"
    printed = _launchday("token", "--customer", "c-42", env=server_env(db))
    assert printed.returncode == 0, printed.stderr
    token = printed.stdout.strip()
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["sub"] == "c-42"

    port = free_port()
    server = start_server_process(db, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server)
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert httpx.post(f"{base}/api/v1/launches", json=launch_body(), headers=admin).is_success
        placed = httpx.post(
            f"{base}/api/v1/launches/yu7-2025/orders",
            json={"sku": "YU7-MAX"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "cli"},
        )
        assert placed.status_code == 201
        assert placed.json()["customer"] == "c-42"
    finally:
        server.send_signal(signal.SIGINT)
        # uvicorn shuts down gracefully, then re-raises SIGINT: exit status 130.
        assert server.wait(timeout=30) in (0, 130, -signal.SIGINT)


def test_without_a_secret_the_token_uses_the_one_kept_beside_the_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDAY_")}
    env["LAUNCHDAY_DB"] = f"sqlite:///{tmp_path / 'launchday.db'}"
    first = _launchday("token", "--customer", "c-1", env=env)
    second = _launchday("token", "--customer", "c-1", env=env)
    kept = (tmp_path / "launchday.db.secret").read_bytes().strip()
    assert (tmp_path / "launchday.db.secret").stat().st_mode & 0o777 == 0o600
    for run in (first, second):
        assert jwt.decode(run.stdout.strip(), kept, algorithms=["HS256"])["sub"] == "c-1"


def test_serve_prints_a_generated_admin_key_that_works(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDAY_")}
    env["LAUNCHDAY_DB"] = f"sqlite:///{tmp_path / 'launchday.db'}"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "launchday", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("admin key"), line
        key = line.rsplit(" ", 1)[1].strip()
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, server)  # type: ignore[arg-type]
        refused = httpx.post(f"{base}/api/v1/launches", json=launch_body())
        assert refused.status_code == 401
        created = httpx.post(
            f"{base}/api/v1/launches",
            json=launch_body(),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert created.status_code == 201
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        if server.stdout:
            server.stdout.close()


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    result = _launchday("serve", "--workers", "2", env=server_env(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "SQLite takes one server process" in result.stdout


def test_serve_refuses_fewer_than_one_worker(tmp_path: Path) -> None:
    result = _launchday("serve", "--workers", "0", env=server_env(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "--workers must be at least 1" in result.stdout


def test_db_upgrade_applies_the_migrations_once(empty_database: Database) -> None:
    database = empty_database
    env = server_env(database.url)
    first = _launchday("db", "upgrade", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    migrations = [step.name for step in STEPS]
    assert migrations[:4] == [
        "0001_core",
        "0002_report_indexes",
        "0003_waiting_room",
        "0004_rejoins",
    ]
    assert first.stdout.strip() == f"applied: {', '.join(migrations)}"
    names = [row[0] for row in database.query("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == migrations
    again = _launchday("db", "upgrade", "--db", database.url, env=env)
    assert again.returncode == 0
    assert again.stdout.strip() == "the schema is up to date"


def test_db_upgrade_says_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    result = _launchday("db", "upgrade", "--db", url, env=server_env(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "the database is unavailable" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_serve_with_workers_on_postgresql_shares_one_secret(
    pg_database: Database, tmp_path: Path
) -> None:
    """`serve --workers 3` with no LAUNCHDAY_SECRET: the secret kept in the database signs
    for every worker, so a token minted by `launchday token` works whichever answers."""
    env = {k: v for k, v in server_env(pg_database.url).items() if k != "LAUNCHDAY_SECRET"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "launchday", "serve", "--port", str(port), "--workers", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until_healthy(base, server)
        created = httpx.post(
            f"{base}/api/v1/launches",
            json=launch_body(opens_at=datetime.now(UTC) - timedelta(minutes=1)),
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert created.status_code == 201, created.text
        printed = _launchday("token", "--customer", "c-0", env=env).stdout.strip()
        secret = bytes(pg_database.scalar("SELECT secret FROM instance_secret"))
        tokens = [printed] + [
            mint_customer_token(secret, f"c-{n}", datetime.now(UTC), timedelta(hours=1))
            for n in range(1, 30)
        ]
        for token in tokens:  # a new connection each time: the kernel spreads them
            response = httpx.post(
                f"{base}/api/v1/launches/yu7-2025/orders",
                json={"sku": "YU7-MAX"},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k"},
            )
            assert response.status_code == 201, response.text
    finally:
        os.killpg(server.pid, signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert "3 workers" in output
    assert pg_database.scalar("SELECT count(*) FROM orders") == 30


def test_a_short_secret_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    env = {**server_env(tmp_path / "x.db"), "LAUNCHDAY_SECRET": "short"}
    result = _launchday("token", "--customer", "c-1", env=env)
    assert result.returncode != 0
    assert "LAUNCHDAY_SECRET must be at least 32 bytes" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_report_prints_text_json_and_writes_report_json(tmp_path: Path) -> None:
    db = tmp_path / "launchday.db"
    # The report reads "now" off the wall clock: open the launches an hour ago, so the
    # reserved order is still inside its refund window whatever day the test runs.
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    clock = SettableClock(opened + timedelta(minutes=30))
    with in_process(settings_for(db), clock) as (api, _app):
        api.create_launch(opens_at=opened)
        api.create_launch(slug="su7-2024", opens_at=opened)
        api.place("c-1", "YU7-MAX")
        api.place("c-2", "YU7-LTD")
    env = server_env(db)
    text = _launchday("report", "--launch", "yu7-2025", "--compare", "su7-2024", env=env)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "orders 2: reserved 1, locked 1, cancelled 0" in text.stdout
    assert "yu7-2025 against su7-2024" in text.stdout

    as_json = _launchday(
        "report", "--launch", "yu7-2025", "--json", "--out", str(tmp_path), env=env
    )
    report = json.loads(as_json.stdout)
    assert report["orders"]["by_sku"] == {"YU7-MAX": 1, "YU7-LTD": 1}
    assert json.loads((tmp_path / "report.json").read_text()) == report

    unknown = _launchday("report", "--launch", "nope", env=env)
    assert unknown.returncode == 2
    assert "no launch 'nope'" in unknown.stdout
