"""Reports read from a hot standby (`--replica`, `LAUNCHDAY_REPLICA_DB`; docs/replica.md).

A real primary and a real streaming standby of it (Debian's pg_basebackup), each logging
every statement it runs: where a report's queries ran is read off the two logs, so a
check that they ran on the standby fails if they ran on the primary (the fallback tests
show the same queries turning up in the primary's log). A report asked right after
orders are acknowledged counts them all: the standby's replay is held back while they
are placed, so it lacks them when the report is asked, and the report must wait.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from launchday.config import ConfigError, Settings
from launchday.store import replica as replica_store
from tests.pg_cluster import (
    PgCluster,
    PgServer,
    can_run_clusters,
    find_bindir,
    own_server,
    standby_of,
)
from tests.support import Api, Database, SettableClock, in_process

# Every statement in the log, each entry starting with its time and process.
LOGGED = {"log_statement": "all", "log_line_prefix": "%m [%p] "}
ENTRY = re.compile(r"(?m)^(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)", re.S)
SLUG = "yu7-2025"
REPORT = f"/api/v1/launches/{SLUG}/report"


class StatementLog:
    """The statements a server runs from now on, read off its log (written by the
    backend before it runs each one, so complete once the statement has answered)."""

    def __init__(self, cluster: PgCluster) -> None:
        self.path = cluster.root / "server.log"
        self.start = self.path.stat().st_size

    def statements(self) -> list[str]:
        text = self.path.read_bytes()[self.start :].decode("utf-8", "replace")
        found = (STATEMENT.search(entry) for entry in ENTRY.split(text))
        return [" ".join(match.group(1).split()) for match in found if match]


def report_queries(statements: list[str]) -> set[str]:
    """The statements that read launchday's tables (not the replay polls, nor BEGIN,
    set_config or ROLLBACK, which other reads run too)."""
    return {s for s in statements if " FROM " in s and not s.startswith("SELECT pg_")}


@dataclass
class Pair:
    """A database on the primary, and the standby streaming it."""

    primary: PgCluster
    standby: PgCluster
    database: Database

    @property
    def name(self) -> str:
        return self.database.url.rsplit("/", 1)[-1]

    @property
    def standby_url(self) -> str:
        return self.standby.url(self.name)

    def on_standby(self, sql: str) -> Any:
        with psycopg.connect(self.standby_url, autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return row[0]

    def hold_replay(self) -> None:
        """The standby receives the primary's WAL but applies none of it (as if it
        lagged), until `release_replay`."""
        self.on_standby("SELECT pg_wal_replay_pause()")

    def release_replay(self) -> None:
        self.on_standby("SELECT pg_wal_replay_resume()")

    def wait_replayed(self) -> None:
        """Until the standby has replayed everything the primary has committed."""
        lsn = self.database.scalar("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + 10
        while not self.on_standby(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"):
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.01)


@pytest.fixture(scope="module")
def primary() -> Iterator[PgServer]:
    """A primary of our own, logging its statements (the session's server logs none)."""
    bindir = find_bindir()
    if bindir is None or not can_run_clusters():
        pytest.skip("no PostgreSQL binaries here: install Debian's postgresql")
    with own_server(bindir, LOGGED, prefix="launchday-primary-") as server:
        yield server


@pytest.fixture
def pair(primary: PgServer) -> Iterator[Pair]:
    """A fresh database on the primary and a fresh standby of the whole primary."""
    assert primary.cluster is not None
    database = Database(primary.create_database())
    root = Path(tempfile.mkdtemp(prefix="launchday-standby-"))
    standby = standby_of(primary.cluster, root, LOGGED)
    try:
        yield Pair(primary.cluster, standby, database)
    finally:
        standby.stop(discard=True)
        shutil.rmtree(root, ignore_errors=True)


def opened() -> datetime:
    """An opening an hour ago: the command line's report reads the wall clock."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@contextmanager
def app_with_standby(pair: Pair, replica_url: str | None = None) -> Iterator[Api]:
    """The app in-process on the primary, its reports on the standby, a launch created
    (and replayed by the standby) before the test's orders."""
    start = opened()
    settings = pair.database.settings(replica_url=replica_url or pair.standby_url)
    with in_process(settings, SettableClock(start + timedelta(minutes=30))) as (api, _app):
        api.create_launch(opens_at=start)
        pair.wait_replayed()
        yield api


def place(api: Api, count: int) -> None:
    for n in range(count):
        placed = api.place(f"c-{n}")
        assert placed.status_code == 201, placed.text


def report(api: Api) -> dict[str, Any]:
    answer = api.get(REPORT, headers=api.admin())
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_report_asked_right_after_orders_waits_for_the_standby_and_counts_them_all(
    pair: Pair,
) -> None:
    with app_with_standby(pair) as api:
        pair.hold_replay()
        place(api, 12)
        assert pair.on_standby("SELECT count(*) FROM orders") == 0  # not replayed yet
        on_primary, on_standby = StatementLog(pair.primary), StatementLog(pair.standby)
        release = threading.Timer(0.5, pair.release_replay)
        release.start()
        try:
            figures = report(api)
        finally:
            release.join()
    assert figures["orders"]["total"] == 12
    assert figures["orders"]["by_sku"] == {"YU7-MAX": 12, "YU7-LTD": 0}
    read = report_queries(on_standby.statements())
    assert len(read) >= 5, on_standby.statements()
    primary_ran = on_primary.statements()
    assert "SELECT pg_current_wal_lsn()::text" in primary_ran  # its log is written too
    assert read.isdisjoint(primary_ran)


def test_with_the_standby_killed_the_report_answers_the_same_from_the_primary(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    with app_with_standby(pair) as api:
        place(api, 7)
        on_standby = StatementLog(pair.standby)
        from_standby = report(api)
        read = report_queries(on_standby.statements())
        assert read, "the first report reads the standby"

        pair.standby.kill()
        on_primary = StatementLog(pair.primary)
        with caplog.at_level(logging.WARNING, logger="launchday.store.replica"):
            from_primary = report(api)
    assert from_primary == from_standby
    assert from_primary["orders"]["total"] == 7
    assert read <= set(on_primary.statements())  # the same queries, on the primary now
    assert any("cannot be reached" in r.getMessage() for r in caplog.records), caplog.text


def test_a_standby_lagging_past_the_wait_leaves_the_report_to_the_primary(
    pair: Pair, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replica_store, "REPLAY_WAIT_SECONDS", 0.3)
    with app_with_standby(pair) as api:
        pair.hold_replay()
        try:
            place(api, 3)
            on_primary, on_standby = StatementLog(pair.primary), StatementLog(pair.standby)
            with caplog.at_level(logging.WARNING, logger="launchday.store.replica"):
                started = time.monotonic()
                figures = report(api)
                took = time.monotonic() - started
        finally:
            pair.release_replay()
    assert figures["orders"]["total"] == 3
    assert took >= 0.3
    assert report_queries(on_standby.statements()) == set()
    assert len(report_queries(on_primary.statements())) >= 5
    assert any("had not replayed" in r.getMessage() for r in caplog.records), caplog.text


# --- launchday report --replica, as a user runs it -----------------------------------


def launchday(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDAY_")}
    return subprocess.run(
        [sys.executable, "-m", "launchday", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What the command printed, on one line (the console wraps long messages)."""
    return " ".join((result.stdout + result.stderr).split())


@pytest.fixture
def ordered(pair: Pair) -> Pair:
    """Four orders on the primary, replayed by the standby."""
    with app_with_standby(pair) as api:
        place(api, 4)
    pair.wait_replayed()
    return pair


def test_report_with_replica_alone_prints_the_report_read_on_the_standby(ordered: Pair) -> None:
    on_primary, on_standby = StatementLog(ordered.primary), StatementLog(ordered.standby)
    printed = launchday("report", "--replica", ordered.standby_url, "--launch", SLUG, "--json")
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert json.loads(printed.stdout)["orders"]["total"] == 4
    assert printed.stderr == ""
    read = report_queries(on_standby.statements())
    assert len(read) >= 5
    assert read.isdisjoint(on_primary.statements())

    text = launchday("report", "--replica", ordered.standby_url, "--launch", SLUG)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "orders 4: reserved 4" in said(text)


def test_report_with_db_and_replica_reads_the_standby_once_it_has_caught_up(
    ordered: Pair,
) -> None:
    on_primary, on_standby = StatementLog(ordered.primary), StatementLog(ordered.standby)
    printed = launchday(
        "report", "--db", ordered.database.url, "--replica", ordered.standby_url,
        "--launch", SLUG, "--json",
    )  # fmt: skip
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert json.loads(printed.stdout)["orders"]["total"] == 4
    read = report_queries(on_standby.statements())
    assert len(read) >= 5
    primary_ran = on_primary.statements()
    assert "SELECT pg_current_wal_lsn()::text" in primary_ran
    assert read.isdisjoint(primary_ran)


def test_report_with_a_replica_that_is_down_reads_the_primary_and_says_so(
    ordered: Pair,
) -> None:
    ordered.standby.kill()
    printed = launchday(
        "report", "--db", ordered.database.url, "--replica", ordered.standby_url,
        "--launch", SLUG, "--json",
    )  # fmt: skip
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert json.loads(printed.stdout)["orders"]["total"] == 4  # stdout: the JSON alone
    assert "cannot be reached" in printed.stderr
    assert "read on the primary" in printed.stderr


def test_report_on_a_replica_that_is_no_standby_notes_it(ordered: Pair) -> None:
    printed = launchday("report", "--replica", ordered.database.url, "--launch", SLUG, "--json")
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert json.loads(printed.stdout)["orders"]["total"] == 4
    assert "is not a standby" in printed.stderr


# --- bad input: refused before anything connects ------------------------------------


def test_report_refuses_a_replica_that_is_not_postgresql(tmp_path: Path) -> None:
    refused = launchday("report", "--replica", f"sqlite:///{tmp_path}/x.db", "--launch", SLUG)
    assert refused.returncode == 2, said(refused)
    assert "must be a PostgreSQL URL" in said(refused)
    assert "Traceback" not in said(refused)


def test_report_refuses_a_replica_beside_a_sqlite_database(tmp_path: Path) -> None:
    refused = launchday(
        "report", "--db", f"sqlite:///{tmp_path}/x.db",
        "--replica", "postgresql://postgres@127.0.0.1:1/launchday", "--launch", SLUG,
    )  # fmt: skip
    assert refused.returncode == 2, said(refused)
    assert "a replica needs a PostgreSQL database" in said(refused)
    assert "Traceback" not in said(refused)


def test_serve_refuses_a_replica_that_cannot_be_one(tmp_path: Path) -> None:
    not_postgres = launchday("serve", "--port", "1", "--replica", f"sqlite:///{tmp_path}/x.db")
    assert not_postgres.returncode == 2, said(not_postgres)
    assert "must be a PostgreSQL URL" in said(not_postgres)
    beside_sqlite = launchday(
        "serve", "--port", "1", "--db", f"sqlite:///{tmp_path}/x.db",
        env={"LAUNCHDAY_REPLICA_DB": "postgresql://postgres@127.0.0.1:1/launchday"},
    )  # fmt: skip
    assert beside_sqlite.returncode == 2, said(beside_sqlite)
    assert "a replica needs a PostgreSQL database" in said(beside_sqlite)
    assert "Traceback" not in said(not_postgres) + said(beside_sqlite)


def test_settings_take_the_replica_from_the_environment_and_check_it() -> None:
    primary = "postgresql://launchday@db1/launchday"
    standby = "postgresql://launchday@db2,db3/launchday?target_session_attrs=prefer-standby"
    env = {"LAUNCHDAY_DB": primary, "LAUNCHDAY_REPLICA_DB": standby}
    assert Settings.from_env(env).replica_url == standby
    assert Settings.from_env({"LAUNCHDAY_DB": primary}).replica_url is None
    with pytest.raises(ConfigError, match="must be a PostgreSQL URL"):
        Settings.from_env({"LAUNCHDAY_DB": primary, "LAUNCHDAY_REPLICA_DB": "mysql://db2/x"})
    with pytest.raises(ConfigError, match="needs a PostgreSQL database"):
        Settings.from_env({"LAUNCHDAY_REPLICA_DB": standby})  # the default: SQLite
