"""launchday's HTTP/1.1 protocol (launchday.http.protocol) over real loopback sockets.

A small ASGI app under `launchday.server.uvicorn_config`, spoken to byte by byte, so
that what HTTP/1.1 promises is seen on the wire: keep-alive, pipelining in order,
request bodies (sized, chunked, large, after 100-continue), streamed responses, HEAD,
Connection: close, bad requests and app failures.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support import serving


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers what it was asked: method, path, query, body size and a header."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/boom":
        raise RuntimeError("the app failed")
    if path == "/silent":
        return
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for n in range(3):
            await send({"type": "http.response.body", "body": b"event %d\n" % n, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path.startswith("/slow/"):
        await asyncio.sleep(float(path.rsplit("/", 1)[1]))
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    headers = dict(scope["headers"])
    answer = json.dumps(
        {
            "method": scope["method"],
            "path": path,
            "query": scope["query_string"].decode(),
            "size": len(body),
            "tail": body[-8:].decode("latin-1"),
            "x": headers.get(b"x-test", b"").decode(),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(answer)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    with serving(echo_app, timeout_keep_alive=1) as served:
        yield served


@contextmanager
def connect(address: tuple[str, int]) -> Iterator[socket.socket]:
    sock = socket.create_connection(address, timeout=10)
    try:
        yield sock
    finally:
        sock.close()


class Reader:
    """Reads HTTP/1.1 responses off a socket: sized, chunked or up to the close."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            assert self._fill(), "connection closed mid-response"
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            assert self._fill(), "connection closed mid-body"
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def response(self, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        status = int(self._line().split(b" ")[1])
        headers: dict[str, str] = {}
        while line := self._line():
            name, value = line.decode().split(":", 1)
            headers[name.lower()] = value.strip()
        if head or status in (100, 204, 304):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._line(), 16):
                body += self._take(size)
                assert self._take(2) == b"\r\n"
            assert self._line() == b""
            return status, headers, body
        return status, headers, self._take(int(headers["content-length"]))

    def closed(self) -> bool:
        """True once the server has closed the connection (and sent nothing more)."""
        self.sock.settimeout(5)
        return not self._fill() and not self.buffer


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode()


def test_keep_alive_answers_many_requests_on_one_connection(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        for n in range(20):
            sock.sendall(get(f"/n/{n}?q={n}", f"X-Test: {n}\r\n"))
            status, headers, body = reader.response()
            answer = json.loads(body)
            assert status == 200
            assert (answer["path"], answer["query"], answer["x"]) == (f"/n/{n}", f"q={n}", str(n))
            assert "date" in headers
            assert "connection" not in headers


def test_pipelined_requests_are_answered_in_order(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        # The first takes longest: answers must still come back in the order asked.
        sock.sendall(get("/slow/0.3") + get("/slow/0.1") + get("/fast") + get("/slow/0"))
        reader = Reader(sock)
        paths = [json.loads(reader.response()[2])["path"] for _ in range(4)]
        assert paths == ["/slow/0.3", "/slow/0.1", "/fast", "/slow/0"]


def test_request_bodies_sized_chunked_split_and_large(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(b"POST /sized HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        assert json.loads(reader.response()[2])["size"] == 5
        sock.sendall(
            b"POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
        )
        answer = json.loads(reader.response()[2])
        assert (answer["size"], answer["tail"]) == (7, "abcdefg")
        # A body arriving in pieces, a pause between them.
        sock.sendall(b"POST /split HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345")
        time.sleep(0.2)
        sock.sendall(b"67890")
        answer = json.loads(reader.response()[2])
        assert (answer["size"], answer["tail"]) == (10, "34567890")
        # Larger than the read-ahead limit: reading pauses and resumes, nothing is lost.
        big = bytes(range(256)) * 4096  # 1 MiB
        head = b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(big)
        sock.sendall(head + big)
        answer = json.loads(reader.response()[2])
        assert (answer["size"], answer["tail"]) == (len(big), big[-8:].decode("latin-1"))


def test_expect_100_continue_is_answered_before_the_body(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(
            b"POST /c HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        status, _, _ = reader.response()
        assert status == 100
        sock.sendall(b"data")
        status, _, body = reader.response()
        assert status == 200
        assert json.loads(body)["size"] == 4


def test_a_response_without_length_streams_chunked(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(get("/stream"))
        status, headers, body = reader.response()
        assert status == 200
        assert headers["transfer-encoding"] == "chunked"
        assert body == b"event 0\nevent 1\nevent 2\n"
        sock.sendall(get("/after-stream"))  # the connection is still good
        assert json.loads(reader.response()[2])["path"] == "/after-stream"


def test_head_sends_the_headers_only(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, _ = reader.response(head=True)
        assert status == 200
        assert int(headers["content-length"]) > 0
        sock.sendall(get("/after-head"))
        assert json.loads(reader.response()[2])["path"] == "/after-head"


def test_connection_close_and_http_1_0_close_after_the_response(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(get("/bye", "Connection: close\r\n"))
        status, headers, _ = reader.response()
        assert status == 200
        assert headers["connection"] == "close"
        assert reader.closed()
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(b"GET /old HTTP/1.0\r\n\r\n")
        assert reader.response()[0] == 200
        assert reader.closed()


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(
    address: tuple[str, int],
) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(get("/once"))
        assert reader.response()[0] == 200
        assert reader.closed()  # timeout_keep_alive=1 in this module's server


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\n\r\n",
    ],
)
def test_a_malformed_request_is_refused_400_in_the_error_shape(
    address: tuple[str, int], request_bytes: bytes
) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(request_bytes)
        status, headers, body = reader.response()
        assert status == 400
        assert headers["connection"] == "close"
        assert json.loads(body)["error"]["code"] == "invalid_body"
        assert reader.closed()


def test_request_headers_beyond_64_kib_are_refused_431(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        reader = Reader(sock)
        sock.sendall(get("/h", "X-Big: " + "a" * 70_000 + "\r\n"))
        status, _, body = reader.response()
        assert status == 431
        assert json.loads(body)["error"]["code"] == "too_large"
        assert reader.closed()


def test_an_app_failure_is_a_500_and_the_server_carries_on(address: tuple[str, int]) -> None:
    for path in ("/boom", "/silent"):
        with connect(address) as sock:
            reader = Reader(sock)
            sock.sendall(get(path))
            status, _, body = reader.response()
            assert status == 500
            assert json.loads(body)["error"]["code"] == "internal"
    with connect(address) as sock:
        sock.sendall(get("/still-up"))
        assert Reader(sock).response()[0] == 200


def test_a_client_gone_mid_request_does_not_disturb_others(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        sock.sendall(b"POST /gone HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial")
    with connect(address) as sock:
        sock.sendall(get("/next"))
        assert json.loads(Reader(sock).response()[2])["path"] == "/next"
