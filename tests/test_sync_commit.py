"""A commit its synchronous standby did not confirm is never answered as done.

PostgreSQL with `synchronous_standby_names` set waits at COMMIT for a standby. When that
wait is cancelled (here: the writer's bound on it, as when a cluster has lost its
standby), the transaction has committed on the primary alone: the buyer must get 503
with Retry-After, not 201, and a retry with the same Idempotency-Key must not be
answered 201 either until a standby holds the order. A standby that never connects is
named here (`nobody`), so every commit waits, as on a primary cut off from its standbys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from launchday.store import postgres as postgres_store
from tests.pg_cluster import PgServer
from tests.support import T0, Database, SettableClock, in_process


def commits_wait(url: str) -> bool:
    """Whether a commit that writes waits for a standby now (cancelled after 0.3 s; the
    server lets no statement_timeout end that wait)."""
    notices: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))
        cancel = threading.Timer(0.3, conn.cancel_safe)
        cancel.start()
        with conn.transaction():  # a commit waits only if it wrote to the log
            conn.execute("CREATE TABLE IF NOT EXISTS sync_probe (at timestamptz)")
            conn.execute("INSERT INTO sync_probe VALUES (now())")
        cancel.cancel()
    return any(text.startswith(postgres_store.SYNC_WAIT_CANCELLED) for text in notices)


def name_standbys(server: PgServer, names: str) -> None:
    """Set the server's synchronous standbys and wait until its commits obey."""
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        if names:
            conn.execute(
                sql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}").format(
                    sql.Literal(names)
                )
            )
        else:
            conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
        conn.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 20
    while commits_wait(server.admin_url) != bool(names):
        assert time.monotonic() < deadline, "the server did not take the setting"
        time.sleep(0.1)


@pytest.fixture
def own_server(postgres: PgServer | None) -> Iterator[PgServer]:
    """The session's PostgreSQL server, ours to reconfigure (and to put back)."""
    if postgres is None or postgres.cluster is None:
        pytest.skip("needs the tests' own PostgreSQL server (not LAUNCHDAY_TEST_PG)")
    try:
        yield postgres
    finally:
        name_standbys(postgres, "")


@pytest.fixture
def database(pg_database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A fresh database on that server, the writer's wait for a standby bounded at 0.5 s."""
    monkeypatch.setattr(postgres_store, "COMMIT_WAIT_SECONDS", 0.5)
    return pg_database


def test_a_commit_no_standby_confirmed_is_answered_503_and_its_retry_too_until_one_does(
    own_server: PgServer, database: Database
) -> None:
    with in_process(database.settings(), SettableClock(T0.replace(hour=16))) as (api, _):
        api.create_launch()
        name_standbys(own_server, "nobody")

        first = api.place("c-1", key="k-1")
        assert first.status_code == 503, first.text
        assert first.json()["error"]["code"] == "unavailable"
        assert int(first.headers["Retry-After"]) >= 1
        # Committed on the primary alone: stored, but nobody was told so.
        assert database.scalar("SELECT count(*) FROM orders") == 1

        again = api.place("c-1", key="k-1")  # found, but still on one machine only
        assert again.status_code == 503, again.text
        other = api.place("c-2", key="k-2")
        assert other.status_code == 503, other.text

        name_standbys(own_server, "")  # a standby holds everything again
        retried = api.place("c-1", key="k-1")
        assert retried.status_code in (200, 201), retried.text
        stored = database.query("SELECT id, customer FROM orders ORDER BY seq")
        assert stored[0] == (retried.json()["id"], "c-1")
        assert len(stored) == 2  # c-1's order once, and c-2's, each unanswered as done
        read = api.get(f"/api/v1/orders/{retried.json()['id']}", headers=api.as_customer("c-1"))
        assert read.status_code == 200, read.text


def test_a_retry_reaching_another_host_is_not_answered_201_before_a_standby_has_the_order(
    own_server: PgServer, database: Database
) -> None:
    # Two API hosts on one primary: the buyer's retry of a 503 goes through the load
    # balancer, often to the host whose writer has had no cancelled wait of its own.
    clock = SettableClock(T0.replace(hour=16))
    with (
        in_process(database.settings(), clock) as (one, _),
        in_process(database.settings(), clock) as (other, _),
    ):
        one.create_launch()
        assert other.place("c-0", key="k-0").status_code == 201  # its writer is in use
        name_standbys(own_server, "nobody")

        first = one.place("c-1", key="k-1")
        assert first.status_code == 503, first.text
        assert database.scalar("SELECT count(*) FROM orders WHERE customer = 'c-1'") == 1
        # The other host finds the order, which is on the primary alone: not yet.
        elsewhere = other.place("c-1", key="k-1")
        assert elsewhere.status_code == 503, elsewhere.text

        name_standbys(own_server, "")
        retried = other.place("c-1", key="k-1")
        assert retried.status_code in (200, 201), retried.text
        stored = database.query("SELECT id FROM orders WHERE customer = 'c-1'")
        assert stored == [(retried.json()["id"],)]
