"""Running the ASGI app under uvicorn (uvloop and httptools, the fastest pairing measured)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from launchday.api.app import App, create_app
from launchday.config import Settings


def uvicorn_config(app: App | str, host: str, port: int, **more: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        # Launch night opens thousands of connections at once; keep the accept queue deep.
        backlog=4096,
        timeout_keep_alive=30,
        # An open dashboard stream must not hold up a shutdown.
        timeout_graceful_shutdown=2,
        **more,  # type: ignore[arg-type]
    )


def app_from_env() -> App:
    """The app of one worker process of `serve_workers`, from the environment it set."""
    return create_app(Settings.from_env())


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with `workers` processes on one listening socket; a worker that dies is
    replaced. Each worker has its own store connections; the database (PostgreSQL)
    keeps them consistent. They share the settings resolved here, through the
    environment, so a generated admin key or secret is the same in every one."""
    os.environ.update(
        LAUNCHDAY_DB=settings.db_url,
        LAUNCHDAY_ADMIN_KEY=settings.admin_key,
        LAUNCHDAY_SECRET=settings.secret.decode(),
        LAUNCHDAY_MAX_BODY_BYTES=str(settings.max_body_bytes),
    )
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
        if after_start is not None:
            while not server.started and not task.done():
                await asyncio.sleep(0.02)
            if server.started:
                await after_start(app)
        await task

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(run())
