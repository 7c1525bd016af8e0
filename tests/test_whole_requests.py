"""A request read whole goes to launchday's app without ASGI (`HttpApp.respond_whole`).

launchday's shell (`launchday.http.asgi.HttpApp`) under its own protocol, over real
loopback sockets: a request whose body has arrived whole is answered through
`respond_whole` and written at once; one whose body is still coming is read through
ASGI's `receive`, as any app's is. Both answer the same, on the wire.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import uvicorn

from launchday.http.asgi import HttpApp, Receive, Scope, Send
from launchday.http.metrics import Metrics
from launchday.http.routing import Caller, Request, Response, Route, json_response
from launchday.server import uvicorn_config
from tests.support import free_port
from tests.test_http_protocol import Reader, connect

MAX_BODY = 1024


async def echo(request: Request) -> Response:
    answer = {"size": len(request.body), "tail": request.body[-8:].decode("latin-1")}
    return json_response(201, json.dumps(answer).encode(), {"Location": "/things/1"})


async def item(request: Request) -> Response:
    return json_response(200, json.dumps({"id": request.params["id"]}).encode())


async def events(request: Request) -> Response:
    async def stream() -> AsyncIterator[bytes]:
        for n in range(3):
            yield b"data: %d\n\n" % n

    return Response(200, b": open\n\n", "text/event-stream", stream=stream())


class CountingApp(HttpApp):
    """The shell, counting the requests that came through ASGI rather than whole."""

    def __init__(self) -> None:
        routes = [
            Route("POST", "/things", echo, "echo", "echo", "anyone", body=bytes),
            Route("GET", "/things/{id}", item, "item", "item", "anyone"),
            Route("GET", "/events", events, "events", "events", "anyone"),
        ]
        super().__init__(
            routes,
            authenticate=lambda auth, header, params: Caller(None),
            refusals=lambda error: None,
            metrics=Metrics(),
            max_body_bytes=MAX_BODY,
        )
        self.through_asgi = 0

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.through_asgi += 1
        await super()._http(scope, receive, send)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[tuple[str, int], CountingApp]]:
    app = CountingApp()
    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "server did not start"
        assert time.monotonic() < deadline, "server did not start in time"
        time.sleep(0.01)
    yield ("127.0.0.1", port), app
    server.should_exit = True
    thread.join(timeout=20)


def post(body: bytes, extra: str = "") -> bytes:
    head = f"POST /things HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def asgi_calls(app: CountingApp, send: Callable[[], None]) -> int:
    """How many of the requests `send` made came to the app through ASGI."""
    before = app.through_asgi
    send()
    return app.through_asgi - before


def test_a_whole_request_is_answered_without_asgi(
    served: tuple[tuple[str, int], CountingApp],
) -> None:
    address, app = served
    with connect(address) as sock:
        reader = Reader(sock)
        answers: list[tuple[int, dict[str, str], bytes]] = []

        def send() -> None:
            for n in range(5):
                sock.sendall(post(b'{"n": %d}' % n))
                answers.append(reader.response())

        assert asgi_calls(app, send) == 0
    for n, (status, headers, body) in enumerate(answers):
        assert status == 201
        assert headers["content-type"] == "application/json"
        assert headers["content-length"] == str(len(body))
        assert headers["location"] == "/things/1"
        assert "date" in headers
        assert "connection" not in headers
        assert json.loads(body) == {"size": 8, "tail": f'{{"n": {n}}}'}


def test_a_body_still_arriving_is_read_through_asgi_and_answered_the_same(
    served: tuple[tuple[str, int], CountingApp],
) -> None:
    address, app = served
    body = b"x" * 600 + b"the end."
    with connect(address) as sock:
        reader = Reader(sock)
        answer: list[tuple[int, dict[str, str], bytes]] = []

        def send() -> None:
            request = post(body)
            sock.sendall(request[:-300])
            time.sleep(0.2)  # the app starts with half the body
            sock.sendall(request[-300:])
            answer.append(reader.response())

        assert asgi_calls(app, send) == 1
    status, headers, received = answer[0]
    assert status == 201
    assert headers["location"] == "/things/1"
    assert json.loads(received) == {"size": 608, "tail": "the end."}


def test_a_whole_body_over_the_limit_is_refused_413(
    served: tuple[tuple[str, int], CountingApp],
) -> None:
    address, app = served
    with connect(address) as sock:
        reader = Reader(sock)
        answer: list[tuple[int, dict[str, str], bytes]] = []

        def send() -> None:
            sock.sendall(post(b"y" * (MAX_BODY + 1)))
            answer.append(reader.response())

        assert asgi_calls(app, send) == 0
        status, _, body = answer[0]
        assert status == 413
        assert json.loads(body)["error"]["code"] == "too_large"
        # The connection carries on.
        sock.sendall(b"GET /things/7 HTTP/1.1\r\nHost: t\r\n\r\n")
        assert json.loads(reader.response()[2]) == {"id": "7"}


def test_head_pipelining_and_close_on_the_whole_path(
    served: tuple[tuple[str, int], CountingApp],
) -> None:
    address, app = served
    with connect(address) as sock:
        reader = Reader(sock)
        answers: list[tuple[int, dict[str, str], bytes]] = []

        def send() -> None:
            sock.sendall(
                b"HEAD /things/3 HTTP/1.1\r\nHost: t\r\n\r\n"
                + b"GET /things/4 HTTP/1.1\r\nHost: t\r\n\r\n"
                + b"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"
                + b"GET /things/5 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            )
            answers.append(reader.response(head=True))
            answers.extend(reader.response() for _ in range(3))

        assert asgi_calls(app, send) == 0
        assert reader.closed()
    (head_status, head_headers, head_body), got4, missing, got5 = answers
    assert head_status == 200
    assert head_body == b""
    assert head_headers["content-length"] == str(len(b'{"id": "3"}'))
    assert json.loads(got4[2]) == {"id": "4"}
    assert missing[0] == 404
    assert json.loads(missing[2])["error"]["code"] == "not_found"
    assert json.loads(got5[2]) == {"id": "5"}
    assert got5[1]["connection"] == "close"


def test_a_streamed_response_goes_out_chunked_from_the_whole_path(
    served: tuple[tuple[str, int], CountingApp],
) -> None:
    address, app = served
    with connect(address) as sock:
        reader = Reader(sock)
        answer: list[tuple[int, dict[str, str], bytes]] = []

        def send() -> None:
            sock.sendall(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
            answer.append(reader.response())

        assert asgi_calls(app, send) == 0
        status, headers, body = answer[0]
        assert status == 200
        assert headers["transfer-encoding"] == "chunked"
        assert headers["content-type"] == "text/event-stream"
        assert body == b": open\n\ndata: 0\n\ndata: 1\n\ndata: 2\n\n"
        sock.sendall(b"GET /things/9 HTTP/1.1\r\nHost: t\r\n\r\n")
        assert json.loads(reader.response()[2]) == {"id": "9"}
