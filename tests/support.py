"""Test helpers: clients for the app in-process and over loopback HTTP, and launch bodies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from launchday.api.auth import mint_customer_token
from launchday.app import App, create_app
from launchday.cli import free_port
from launchday.cli import rehearse as rehearse_cli
from launchday.config import Settings
from launchday.server import uvicorn_config
from tests.pg_cluster import PgServer

ADMIN_KEY = "admin-key-for-tests"
SECRET = b"secret-for-tests-0123456789abcdef-0123456789"
T0 = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


class SettableClock:
    """The server's clock in in-process tests: time moves only when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Database:
    """A test's database, SQLite or PostgreSQL, and plain SQL on it for checks."""

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql:")

    def settings(self, **overrides: Any) -> Settings:
        return settings_for(self.url, **overrides)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of `sql` (placeholders written `?`), read on a connection of its own."""
        if self.is_postgres:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), params)]
        import sqlite3

        from launchday.store.sqlite import sqlite_path

        conn = sqlite3.connect(sqlite_path(self.url))
        try:
            return [tuple(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()

    def execute(self, sql: str) -> None:
        """Run a statement that returns no rows (committed at once)."""
        if self.is_postgres:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(sql)
            return
        import sqlite3

        from launchday.store.sqlite import sqlite_path

        conn = sqlite3.connect(sqlite_path(self.url), isolation_level=None)
        try:
            conn.execute(sql)
        finally:
            conn.close()

    def connect(self) -> Any:
        """A connection of the kind the report reads through: SQLite read-only (the file
        is opened on first use), or psycopg in autocommit. The caller closes it."""
        if self.is_postgres:
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        import sqlite3

        from launchday.store.sqlite import sqlite_path

        return sqlite3.connect(f"file:{sqlite_path(self.url)}?mode=ro", uri=True)

    def scalar(self, sql: str, *params: Any) -> Any:
        return self.query(sql, *params)[0][0]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table (rows in a stable order), to show nothing changed."""
        listing = (
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            if self.is_postgres
            else "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
        if not self.is_postgres:
            tables = [row[0] for row in self.query(listing)]
            return {t: sorted(self.query(f'SELECT * FROM "{t}"'), key=repr) for t in tables}
        import psycopg

        # One connection for every table: tests take a snapshot around each refusal.
        with psycopg.connect(self.url, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(listing)]
            return {
                t: sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{t}"')), key=repr)
                for t in tables
            }


@contextmanager
def fresh_database(
    kind: str, tmp_path: Path, postgres: PgServer | None, *, migrated: bool = True
) -> Iterator[Database]:
    """An empty database of `kind` ("sqlite" or "postgresql") for one test; a test of
    PostgreSQL skips where there is none (and so fails in CI)."""
    if kind == "sqlite":
        yield Database(f"sqlite:///{tmp_path / 'launchday.db'}")
        return
    if postgres is None:
        pytest.skip("no PostgreSQL here: install Debian's postgresql or set LAUNCHDAY_TEST_PG")
    url = postgres.create_database(migrated=migrated)
    try:
        yield Database(url)
    finally:
        postgres.drop_database(url)


def settings_for(db: Path | str, **overrides: Any) -> Settings:
    """Settings for a test server on `db`: a SQLite file's path, or a database URL."""
    values: dict[str, Any] = {
        "db_url": db if isinstance(db, str) else f"sqlite:///{db}",
        "admin_key": ADMIN_KEY,
        "secret": SECRET,
    }
    values.update(overrides)
    return Settings(**values)


def customer_token(customer: str, *, secret: bytes = SECRET, ttl_hours: float = 1) -> str:
    return mint_customer_token(secret, customer, datetime.now(UTC), timedelta(hours=ttl_hours))


def launch_body(
    slug: str = "yu7-2025", opens_at: datetime = T0, **overrides: Any
) -> dict[str, Any]:
    """The launch body of docs/api.md, without a waiting room."""
    body: dict[str, Any] = {
        "slug": slug,
        "name": "Xiaomi YU7",
        "currency": "CNY",
        "opens_at": opens_at.isoformat().replace("+00:00", "Z"),
        "time_scale": 1,
        "per_customer_limit": 1,
        "deposit": {"amount": 5000, "refundable_hours": 168},
        "variants": [
            {
                "sku": "YU7-MAX",
                "name": "YU7 Max",
                "price": 329900,
                "stock": None,
                "lead_weeks": [39, 42],
            },
            {
                "sku": "YU7-LTD",
                "name": "Launch edition",
                "price": 399900,
                "stock": 5000,
                "deposit": {"amount": 20000, "refundable_hours": 0},
            },
        ],
        "admission": None,
        "report_milestones": [10, 30, 60],
    }
    body.update(overrides)
    return body


class Api:
    """A synchronous face over any httpx transport, with the calls tests make most."""

    def __init__(self, request: Callable[..., httpx.Response]) -> None:
        self.request = request

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY}"}

    def create_launch(self, **body: Any) -> httpx.Response:
        response = self.post("/api/v1/launches", json=launch_body(**body), headers=self.admin())
        assert response.status_code == 201, response.text
        return response

    def place(
        self,
        customer: str,
        sku: str = "YU7-MAX",
        *,
        slug: str = "yu7-2025",
        key: str | None = None,
        **body: Any,
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {customer_token(customer)}",
            "Idempotency-Key": key or f"{customer}-{sku}",
        }
        return self.post(
            f"/api/v1/launches/{slug}/orders", json={"sku": sku, **body}, headers=headers
        )

    def as_customer(self, customer: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {customer_token(customer)}"}


@contextmanager
def in_process(settings: Settings, clock: Callable[[], datetime]) -> Iterator[tuple[Api, App]]:
    """The app driven through httpx's ASGI transport on a private event loop."""
    app = create_app(settings, clock=clock)
    with asyncio.Runner() as runner:
        runner.run(app.startup())
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")

        def request(method: str, path: str, **kw: Any) -> httpx.Response:
            return runner.run(client.request(method, path, **kw))

        try:
            yield Api(request), app
        finally:
            runner.run(client.aclose())
            runner.run(app.shutdown())


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[tuple[str, int]]:
    """An ASGI app under uvicorn as launchday configures it (`config` added), in a
    thread, on a free loopback port; yields its address."""
    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield ("127.0.0.1", port)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def loopback_server(settings: Settings) -> Iterator[str]:
    """The real app under uvicorn in a thread, on a free loopback port; yields its base URL."""
    with serving(create_app(settings)) as (host, port):
        yield f"http://{host}:{port}"


@contextmanager
def http_api(settings: Settings) -> Iterator[Api]:
    with loopback_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield Api(client.request)


def _url(db: Path | str) -> str:
    return db if isinstance(db, str) else f"sqlite:///{db}"


def server_env(db: Path | str) -> dict[str, str]:
    """The environment of a server on `db` (a SQLite file's path, or a database URL)."""
    env = dict(os.environ)
    env.update(
        LAUNCHDAY_DB=_url(db),
        LAUNCHDAY_ADMIN_KEY=ADMIN_KEY,
        LAUNCHDAY_SECRET=SECRET.decode(),
    )
    return env


def start_server_process(
    db: Path | str, port: int, *, workers: int = 1, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`launchday serve` as its own process, as a user runs it; its output goes to a log
    (beside a SQLite file, else at `log`)."""
    log = log or Path(f"{db}.server.log")
    command = [sys.executable, "-m", "launchday", "serve", "--port", str(port)]
    if workers != 1:
        command += ["--workers", str(workers)]
    with open(log, "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            command,
            env=server_env(db),
            stdout=out,
            stderr=out,
            start_new_session=True,  # its workers too can be stopped as one group
        )


def wait_until_healthy(base: str, process: subprocess.Popen[Any], timeout: float = 30) -> None:
    rehearse_cli.wait_until_healthy(base, process, timeout=timeout)


@contextlib.contextmanager
def servers(database: Database, processes: int, logs: Path) -> Iterator[list[str]]:
    """Base URLs of `processes` servers on `database` (one in a thread when it is one)."""
    if processes == 1:
        with loopback_server(database.settings()) as base:
            yield [base]
        return
    started = []
    try:
        for n in range(processes):
            port = free_port()
            started.append(
                (
                    f"http://127.0.0.1:{port}",
                    start_server_process(database.url, port, log=logs / f"server-{n}.log"),
                )
            )
        for base, process in started:
            wait_until_healthy(base, process)
        yield [base for base, _ in started]
    finally:
        for _, process in started:
            process.send_signal(signal.SIGINT)
        for _, process in started:
            process.wait(timeout=30)
