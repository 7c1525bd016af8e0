"""CPU per request of launchday's HTTP layer, without sockets: the protocol and the app's
shell, side by side with and without the whole-request path.

    .venv/bin/python bench/protocol_cost.py [--requests N] [--repeats R]

A fake transport takes what the protocol writes; each of 64 connections is fed the
bytes of an order's POST (headers as the load driver sends them), and the route's
handler answers at once, so that what is timed is only what launchday's HTTP layer
does for a request: parse it, make an exchange and a task, match the route, check the
caller, answer, and write. `whole` is how launchday serves (`HttpApp.respond_whole`);
`asgi` is the same app behind a plain ASGI callable, so the protocol gives it a scope
and messages as it would any app. The two alternate, R times each; medians reported.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
from typing import Any

import uvloop

from launchday.http.asgi import HttpApp, Receive, Scope, Send
from launchday.http.metrics import Metrics
from launchday.http.protocol import HttpProtocol
from launchday.http.routing import Caller, Request, Response, Route, json_response

CONNECTIONS = 64
REQUEST = (
    b"POST /api/v1/launches/yu7/orders HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
    b"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjMSJ9.c2ln\r\n"
    b"Idempotency-Key: order-0001\r\nContent-Type: application/json\r\n"
    b'Content-Length: 17\r\n\r\n{"sku":"YU7-STD"}'
)
ANSWER = b'{"id":"0000abcd","status":"reserved","sku":"YU7-STD"}'


async def place(request: Request) -> Response:
    return json_response(201, ANSWER, {"Location": "/api/v1/orders/0000abcd"})


def shell() -> HttpApp:
    route = Route(
        "POST", "/api/v1/launches/{slug}/orders", place, "place", "", ("customer",), body=bytes
    )
    return HttpApp(
        [route],
        authenticate=lambda auth, header, params: Caller("c1"),
        refusals=lambda error: None,
        metrics=Metrics(),
        max_body_bytes=65_536,
    )


def plain_asgi(app: HttpApp) -> Any:
    """The app as any ASGI app is seen: a callable and nothing more."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    return asgi


class Config:
    loaded = True
    timeout_keep_alive = 30

    def __init__(self, app: Any) -> None:
        self.loaded_app = app


class ServerState:
    def __init__(self) -> None:
        self.connections: set[Any] = set()
        self.total_requests = 0
        self.default_headers = [(b"date", b"Tue, 08 Dec 2026 00:00:00 GMT")]


class Transport:
    """Takes what the protocol writes and counts it."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None: ...

    def get_extra_info(self, name: str) -> tuple[str, int]:
        return ("127.0.0.1", 8000)


async def cpu_per_request(app: Any, requests: int) -> float:
    """Microseconds of this process's CPU per request, `requests` fed in waves."""
    loop = asyncio.get_running_loop()
    state = ServerState()
    connections = []
    for _ in range(CONNECTIONS):
        protocol = HttpProtocol(Config(app), state, {}, loop)
        protocol.connection_made(Transport())  # type: ignore[arg-type]
        connections.append(protocol)

    async def wave() -> None:
        for protocol in connections:
            protocol.data_received(REQUEST)
        while any(protocol.current is not None for protocol in connections):
            await asyncio.sleep(0)

    for _ in range(50):  # warm-up
        await wave()
    gc.collect()
    waves = requests // CONNECTIONS
    before = resource.getrusage(resource.RUSAGE_SELF)
    answered = state.total_requests
    for _ in range(waves):
        await wave()
    after = resource.getrusage(resource.RUSAGE_SELF)
    if state.total_requests - answered != waves * CONNECTIONS:
        raise SystemExit("not every request was answered")
    for protocol in connections:
        protocol.connection_lost(None)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu / (waves * CONNECTIONS) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    app = shell()
    runs: dict[str, list[float]] = {"whole": [], "asgi": []}
    for _ in range(args.repeats):
        runs["whole"].append(uvloop.run(cpu_per_request(app, args.requests)))
        runs["asgi"].append(uvloop.run(cpu_per_request(plain_asgi(app), args.requests)))
    for name, values in runs.items():
        shown = ", ".join(f"{value:.1f}" for value in values)
        print(f"{name:6s} median {statistics.median(values):5.1f} us per request ({shown})")


if __name__ == "__main__":
    main()
