"""Running the ASGI app under uvicorn: uvloop, and launchday's own httptools protocol
(`launchday.http.protocol`), the fastest pairing measured (bench/README.md)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Awaitable, Callable

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from launchday.app import App, create_app
from launchday.config import Settings
from launchday.http.protocol import HttpProtocol
from launchday.store import database_secret, open_store
from launchday.wall_clock import utc_now


def uvicorn_config(app: App | str, host: str, port: int, **more: object) -> uvicorn.Config:
    """launchday's uvicorn settings; `more` adds to them or overrides them."""
    settings: dict[str, object] = {
        "loop": "uvloop",
        "http": HttpProtocol,
        "lifespan": "on",
        "access_log": False,
        "log_level": "warning",
        # Launch night opens thousands of connections at once; keep the accept queue deep.
        "backlog": 4096,
        "timeout_keep_alive": 30,
        # An open dashboard stream must not hold up a shutdown.
        "timeout_graceful_shutdown": 2,
        # launchday reads neither the client address nor the scheme, so uvicorn's
        # X-Forwarded-* middleware would only cost every request a layer.
        "proxy_headers": False,
        "server_header": False,
    }
    settings.update(more)
    return uvicorn.Config(app, host=host, port=port, **settings)  # type: ignore[arg-type]


# Collect the youngest generation every this many net allocations rather than every 700:
# a launch night allocates fast, and most of it is freed by reference counting anyway.
GC_YOUNG_THRESHOLD = 50_000


def settle_gc() -> None:
    """Keep the garbage collector out of the way of requests once the server is up.

    Everything alive after start-up (modules, classes, the app, the loaded launches)
    lives as long as the process: frozen, the collector never walks it again, and a full
    collection no longer costs tens of milliseconds of every request in flight.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class _WorkerApp(App):
    """A worker's app: settles the collector once its store is up, as `serve_app` does
    once the server is."""

    async def startup(self) -> None:
        await super().startup()
        settle_gc()


def app_from_env() -> App:
    """The app of one worker process of `serve_workers`, from the environment it set."""
    settings = Settings.from_env()
    store = open_store(settings.db_url, utc_now, settings.replica_url)
    return _WorkerApp(settings, store, utc_now)


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with `workers` processes on one listening socket; a worker that dies is
    replaced. Each worker has its own store connections; the database (PostgreSQL)
    keeps them consistent. They share the settings resolved here, through the
    environment, so a generated admin key or secret is the same in every one."""
    secret = settings.secret or database_secret(settings.db_url)
    os.environ.update(
        LAUNCHDAY_DB=settings.db_url,
        LAUNCHDAY_ADMIN_KEY=settings.admin_key,
        LAUNCHDAY_SECRET=secret.decode(),
        LAUNCHDAY_MAX_BODY_BYTES=str(settings.max_body_bytes),
    )
    if settings.replica_url:
        os.environ["LAUNCHDAY_REPLICA_DB"] = settings.replica_url
    config = uvicorn_config(
        "launchday.server:app_from_env", host, port, factory=True, workers=workers
    )
    sock = config.bind_socket()
    Multiprocess(config, sockets=[sock]).run()


def serve_app(
    settings: Settings,
    host: str,
    port: int,
    after_start: Callable[[App], Awaitable[None]] | None = None,
) -> None:
    """Serve until interrupted; `after_start` runs once the server accepts connections."""
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, host, port))

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            settle_gc()
            if after_start is not None:
                await after_start(app)
        await task

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(run())
