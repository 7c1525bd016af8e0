"""`LAUNCHDAY_DB` in libpq's multi-host form (`postgresql://h1,h2/db?target_session_attrs=
read-write`), as API hosts in front of a cluster name it: the first host that answers and
takes writes is used, a host that is down is passed over, and the URL prints redacted."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from launchday.cli import free_port
from launchday.config import redacted
from tests.pg_cluster import PgServer
from tests.support import T0, Database, SettableClock, in_process


@pytest.fixture
def multi_host(postgres: PgServer | None) -> Iterator[Database]:
    """A fresh database named through two hosts, the first with nothing listening."""
    if postgres is None:
        pytest.skip("no PostgreSQL here: install Debian's postgresql or set LAUNCHDAY_TEST_PG")
    url = postgres.create_database()
    found = re.match(r"postgresql://([^@/]*@)?([^/]+)/(.+)", url)
    assert found is not None, url
    user, host, name = found.group(1) or "", found.group(2), found.group(3)
    dead = f"127.0.0.1:{free_port()}"
    try:
        yield Database(
            f"postgresql://{user}{dead},{host}/{name}?target_session_attrs=read-write"
            "&connect_timeout=2"
        )
    finally:
        postgres.drop_database(url)


def test_a_multi_host_url_passes_over_a_host_that_is_down(multi_host: Database) -> None:
    clock = SettableClock(T0.replace(hour=16))
    with in_process(multi_host.settings(), clock) as (api, _app):
        api.create_launch()
        placed = api.place("c-multi")
        assert placed.status_code == 201, placed.text
        read = api.get(f"/api/v1/orders/{placed.json()['id']}", headers=api.as_customer("c-multi"))
        assert read.status_code == 200, read.text
    assert multi_host.scalar("SELECT count(*) FROM orders") == 1


def test_a_multi_host_url_prints_without_its_password() -> None:
    url = "postgresql://launchday:s3cret@pg1:5432,pg2:5432,pg3:5432/launchday?target_session_attrs=read-write"
    shown = redacted(url)
    assert "s3cret" not in shown
    assert shown == url.replace("s3cret", "***")
