from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_cluster import PgServer, pg_server
from tests.support import (
    T0,
    Api,
    Database,
    SettableClock,
    fresh_database,
    http_api,
    in_process,
)


@pytest.fixture
def clock() -> SettableClock:
    """Real time an hour after the test launch opens, moved only by the test."""
    return SettableClock(T0.replace(hour=16))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer | None]:
    """One PostgreSQL server for the session (our own cluster, or LAUNCHDAY_TEST_PG)."""
    with pg_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PgServer | None
) -> Iterator[Database]:
    """A fresh, empty database: every test using it runs on SQLite and on PostgreSQL."""
    with fresh_database(request.param, tmp_path, postgres) as database:
        yield database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PgServer | None
) -> Iterator[Database]:
    """A database without even the schema, on SQLite and on PostgreSQL."""
    with fresh_database(request.param, tmp_path, postgres, migrated=False) as database:
        yield database


@pytest.fixture
def sqlite_database(tmp_path: Path, postgres: PgServer | None) -> Iterator[Database]:
    """A fresh SQLite database, for tests whose subject is not the database (the same
    paths run on both databases in the tests beside them)."""
    with fresh_database("sqlite", tmp_path, postgres) as database:
        yield database


@pytest.fixture
def pg_database(tmp_path: Path, postgres: PgServer | None) -> Iterator[Database]:
    """A fresh PostgreSQL database, for the tests that are about PostgreSQL alone."""
    with fresh_database("postgresql", tmp_path, postgres) as database:
        yield database


@pytest.fixture
def api(database: Database, clock: SettableClock) -> Iterator[Api]:
    """The app in-process on a real database, with a settable clock."""
    with in_process(database.settings(), clock) as (client, _app):
        yield client


@pytest.fixture
def http(database: Database) -> Iterator[Api]:
    """The real server over loopback HTTP on a real database, on the wall clock."""
    with http_api(database.settings()) as client:
        yield client


@pytest.fixture(params=["in_process", "loopback"])
def client(
    request: pytest.FixtureRequest, database: Database, clock: SettableClock
) -> Iterator[Api]:
    """The same test twice: the app in-process, and the real server over loopback HTTP."""
    settings = database.settings()
    if request.param == "in_process":
        with in_process(settings, clock) as (api, _app):
            yield api
    else:
        with http_api(settings) as api:
            yield api


# Tests that time what they check (a replay's schedule, a token living a fraction of a
# second, a crash mid-burst, the live dashboard's next tick) or race processes for a
# resource: `make test` runs them alone, after the rest has run on both cores.
SERIAL_MODULES = frozenset(
    {
        "test_cluster_failover.py",
        "test_cluster_up.py",
        "test_concurrency.py",
        "test_crash.py",
        "test_dashboard.py",
        "test_dashboard_browser.py",
        "test_dashboard_production.py",
        "test_dashboard_stores.py",
        "test_demo.py",
        "test_demo_cluster.py",
        "test_demo_shapes.py",
        "test_handovers.py",
        "test_http_protocol.py",
        "test_identity_issuers.py",
        "test_overload.py",
        "test_payments_browser.py",
        "test_payments_faults.py",
        "test_payments_stripe.py",
        "test_rehearsal.py",
        "test_stores_browser.py",
        "test_stripe_provider.py",
        "test_test_drive_race.py",
        "test_token_rotation.py",
        "test_waiting_room.py",
        "test_waiting_room_processes.py",
        "test_waiting_room_rejoin.py",
        "test_waiting_room_security.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)


# In CI every test must run: a test that skips there (a missing tool, a missing server)
# would hide a broken guarantee, so the run fails instead.
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") == "true" and _skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nCI=true: {len(_skipped)} skipped test(s) count as failures:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
