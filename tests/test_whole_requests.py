"""A request read whole goes to launchday's app without ASGI (`HttpApp.respond_whole`).

launchday's shell (`launchday.http.asgi.HttpApp`) under its own protocol, over real
loopback sockets: a request whose body has arrived whole is answered through
`respond_whole` and written at once; one whose body is still coming is read through
ASGI's `receive`, as any app's is. Both answer the same, on the wire.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from launchday.http.asgi import HttpApp, Receive, Scope, Send
from launchday.http.metrics import Metrics
from launchday.http.routing import Caller, Request, Response, Route, json_response
from tests.support import serving
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
    with serving(app) as address:
        yield address, app


Answer = tuple[int, dict[str, str], bytes]


def post(body: bytes, extra: str = "") -> bytes:
    head = f"POST /things HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode()


class Client:
    """One connection to the app, counting the requests that reached it through ASGI."""

    def __init__(self, sock: socket.socket, app: CountingApp) -> None:
        self.sock, self.app, self.reader = sock, app, Reader(sock)

    def ask(self, *parts: bytes, answers: int = 1, head: bool = False) -> tuple[int, list[Answer]]:
        """Send `parts` (a pause between them), read `answers` responses (the first to a
        HEAD when `head`); with how many of the requests went through ASGI."""
        before = self.app.through_asgi
        for n, part in enumerate(parts):
            if n:
                time.sleep(0.2)  # the app starts with what came before
            self.sock.sendall(part)
        got = [self.reader.response(head=head and n == 0) for n in range(answers)]
        return self.app.through_asgi - before, got


def test_a_whole_request_is_answered_without_asgi(
    served: tuple[tuple[str, int], CountingApp],
) -> None:
    address, app = served
    with connect(address) as sock:
        client = Client(sock, app)
        for n in range(5):
            through_asgi, [(status, headers, body)] = client.ask(post(b'{"n": %d}' % n))
            assert through_asgi == 0
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
    request = post(b"x" * 600 + b"the end.")
    with connect(address) as sock:
        through_asgi, [(status, headers, body)] = Client(sock, app).ask(
            request[:-300], request[-300:]
        )
    assert through_asgi == 1
    assert status == 201
    assert headers["location"] == "/things/1"
    assert json.loads(body) == {"size": 608, "tail": "the end."}


def test_a_whole_body_over_the_limit_is_refused_413(
    served: tuple[tuple[str, int], CountingApp],
) -> None:
    address, app = served
    with connect(address) as sock:
        client = Client(sock, app)
        through_asgi, [(status, _, body)] = client.ask(post(b"y" * (MAX_BODY + 1)))
        assert through_asgi == 0
        assert status == 413
        assert json.loads(body)["error"]["code"] == "too_large"
        # The connection carries on.
        assert json.loads(client.ask(get("/things/7"))[1][0][2]) == {"id": "7"}


def test_head_pipelining_and_close_on_the_whole_path(
    served: tuple[tuple[str, int], CountingApp],
) -> None:
    address, app = served
    pipelined = (
        get("/things/3").replace(b"GET", b"HEAD", 1)
        + get("/things/4")
        + get("/nowhere")
        + get("/things/5", "Connection: close\r\n")
    )
    with connect(address) as sock:
        client = Client(sock, app)
        through_asgi, answers = client.ask(pipelined, answers=4, head=True)
        assert client.reader.closed()
    assert through_asgi == 0
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
        client = Client(sock, app)
        through_asgi, [(status, headers, body)] = client.ask(get("/events"))
        assert through_asgi == 0
        assert status == 200
        assert headers["transfer-encoding"] == "chunked"
        assert headers["content-type"] == "text/event-stream"
        assert body == b": open\n\ndata: 0\n\ndata: 1\n\ndata: 2\n\n"
        assert json.loads(client.ask(get("/things/9"))[1][0][2]) == {"id": "9"}
