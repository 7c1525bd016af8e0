"""`launchday report --db URL`, run as a user runs it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from launchday.cli import free_port
from tests.pg_cluster import PgServer
from tests.support import Database, SettableClock, in_process


def launchday(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDAY_")}
    return subprocess.run(
        [sys.executable, "-m", "launchday", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def two_launches(database: Database) -> Database:
    """yu7-2025 with one order of each variant (the limited one locked at placement)
    and a cancelled one, and su7-2024 with one order. The report reads "now" off the wall
    clock, so both launches opened an hour ago: the reserved order is inside its refund
    window whatever day the test runs."""
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    clock = SettableClock(opened + timedelta(minutes=30))
    with in_process(database.settings(), clock) as (api, _app):
        api.create_launch(opens_at=opened)
        api.create_launch(slug="su7-2024", opens_at=opened)
        assert api.place("c-1", "YU7-MAX").status_code == 201
        assert api.place("c-2", "YU7-LTD").status_code == 201
        cancelled = api.place("c-3", "YU7-MAX").json()["id"]
        refund = api.post(f"/api/v1/orders/{cancelled}/cancel", headers=api.as_customer("c-3"))
        assert refund.status_code == 200
        assert api.place("s-1", slug="su7-2024").status_code == 201
    return database


def test_report_prints_the_text_report_with_the_comparison(two_launches: Database) -> None:
    text = launchday(
        "report", "--db", two_launches.url, "--launch", "yu7-2025", "--compare", "su7-2024"
    )
    assert text.returncode == 0, text.stdout + text.stderr
    assert "orders 3: reserved 1, locked 1, cancelled 1" in text.stdout
    assert "yu7-2025 against su7-2024" in text.stdout


def test_report_prints_json_and_writes_the_files(two_launches: Database, tmp_path: Path) -> None:
    out = tmp_path / "out"
    as_json = launchday(
        "report", "--db", two_launches.url, "--launch", "yu7-2025", "--json", "--out", str(out)
    )
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["launch"] == "yu7-2025"
    assert report["orders"]["total"] == 3
    assert report["orders"]["by_sku"] == {"YU7-MAX": 2, "YU7-LTD": 1}
    assert report["orders"]["by_status"] == {"reserved": 1, "locked": 1, "cancelled": 1}
    assert report["cancellations"] == {"count": 1, "refunded_amount": 5000}
    assert report["locked"]["deposits"] == 20000
    assert json.loads((out / "report.json").read_text()) == report
    assert (out / "report.html").stat().st_size > 0
    assert (out / "cumulative_orders.svg").stat().st_size > 0


def test_report_on_an_unknown_launch_says_so(two_launches: Database) -> None:
    unknown = launchday("report", "--db", two_launches.url, "--launch", "nope")
    assert unknown.returncode == 2
    assert "no launch 'nope'" in unknown.stdout
    assert "Traceback" not in unknown.stdout + unknown.stderr


def test_report_on_a_postgresql_server_that_is_not_there_says_so() -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/launchday"
    refused = launchday("report", "--db", url, "--launch", "yu7-2025")
    assert refused.returncode == 2
    assert "cannot connect to PostgreSQL" in refused.stdout
    assert "Traceback" not in refused.stdout + refused.stderr


def test_report_on_a_postgresql_database_without_the_schema_says_so(
    postgres: PgServer | None,
) -> None:
    if postgres is None:
        pytest.skip("no PostgreSQL here: install Debian's postgresql or set LAUNCHDAY_TEST_PG")
    url = postgres.create_database(migrated=False)
    try:
        empty = launchday("report", "--db", url, "--launch", "yu7-2025")
    finally:
        postgres.drop_database(url)
    assert empty.returncode == 2
    assert "no launchday tables in this database" in empty.stdout
    assert "Traceback" not in empty.stdout + empty.stderr


def test_report_refuses_a_database_url_it_does_not_know() -> None:
    refused = launchday("report", "--db", "mysql://localhost/x", "--launch", "yu7-2025")
    assert refused.returncode == 2
    assert "unsupported database URL" in refused.stdout
