"""One request and its response on an HTTP/1.1 connection (`launchday.http.protocol`):
the ASGI `receive` and `send` an app is given, and the whole-request path that skips
them for an app that offers it (`RespondWhole`).

A response of known length goes out in one write, head and body together; one
without is sent chunked as the app produces it, with writing paused while the
socket's buffer is full.
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launchday.http.protocol import HttpProtocol

Message = dict[str, Any]
# What an app may offer besides ASGI (launchday's own does, `HttpApp.respond_whole`): to
# be handed a request whose body is read whole, as (method, path, raw headers, raw
# query, body, ASGI send, ASGI receive), and to answer with (status, header lines, body)
# for the protocol to write, or with None once it has streamed its response through
# `send`. Its answer skips the scope and messages that ASGI would make for every request.
Answer = tuple[int, bytes, bytes]
RespondWhole = Callable[
    [
        str,
        str,
        list[tuple[bytes, bytes]],
        bytes,
        bytes,
        Callable[[Message], Awaitable[None]],
        Callable[[], Awaitable[Message]],
    ],
    Awaitable[Answer | None],
]


def status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


STATUS_LINES = {status: status_line(status) for status in range(100, 600)}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Responses that never carry a body, so never a chunked one.
BODILESS = frozenset({204, 304})


def _status(status: int) -> bytes:
    return STATUS_LINES.get(status) or status_line(status)


class Exchange:
    """One request and its response on a connection: the ASGI receive and send, or the
    body read whole and the response written at once."""

    __slots__ = (
        "_scope",
        "body_given",
        "buffered",
        "chunked",
        "chunks",
        "complete",
        "connection",
        "disconnected",
        "expect_continue",
        "finished",
        "head",
        "headers",
        "keep_alive",
        "method",
        "path",
        "query",
        "raw_path",
        "started",
        "version",
        "waiter",
    )

    def __init__(
        self,
        connection: HttpProtocol,
        request: tuple[str, str, bytes, bytes, str, list[tuple[bytes, bytes]]],
        keep_alive: bool,
        expect: bool,
    ) -> None:
        self.connection = connection
        self.method, self.path, self.raw_path, self.query, self.version, self.headers = request
        self._scope: Message | None = None
        self.keep_alive = keep_alive
        self.expect_continue = expect
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.complete = False  # the whole request body has been parsed
        self.body_given = False  # the app has read the whole body
        self.head: bytes | None = None  # status line and headers, not yet written
        self.started = False
        self.chunked = False
        self.finished = False
        self.disconnected = False
        self.waiter: asyncio.Future[None] | None = None

    @property
    def scope(self) -> Message:
        """The request as an ASGI scope, made only for an app that is handed one."""
        if self._scope is None:
            connection = self.connection
            self._scope = {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": self.version,
                "server": connection.server,
                "client": connection.client,
                "scheme": "http",
                "root_path": "",
                "method": self.method,
                "path": self.path,
                "raw_path": self.raw_path,
                "query_string": self.query,
                "headers": self.headers,
                "state": connection.app_state.copy(),
            }
        return self._scope

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def _wait(self) -> None:
        self.waiter = self.connection.loop.create_future()
        await self.waiter

    async def receive(self) -> Message:
        if self.body_given or self.finished or self.disconnected:
            # Nothing more to read: the next event is the client leaving.
            while not (self.disconnected or self.finished):
                await self._wait()
            return {"type": "http.disconnect"}
        if self.expect_continue:
            self.expect_continue = False
            self.connection.transport.write(CONTINUE)
        while not self.chunks and not self.complete and not self.disconnected:
            await self._wait()
        if not self.chunks and not self.complete:  # the client left mid-body
            return {"type": "http.disconnect"}
        body = self._take_body()
        if self.complete:
            self.body_given = True
        return {"type": "http.request", "body": body, "more_body": not self.complete}

    async def send(self, message: Message) -> None:
        if self.disconnected or self.finished:
            return
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("the response has already started")
            self._start(message["status"], message.get("headers", ()))
        elif kind == "http.response.body":
            if not self.started:
                raise RuntimeError("a response body before the response start")
            await self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    def _start(self, status: int, headers: Any) -> None:
        self.started = True
        connection = self.connection
        lines = [_status(status)]
        sized = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-length":
                sized = True
            elif lowered == b"connection" and value.lower() == b"close":
                self.keep_alive = False
            lines.append(name + b": " + value + b"\r\n")
        lines.append(connection.default_headers())
        head_request = self.method == "HEAD"
        if not sized and not head_request and status not in BODILESS:
            self.chunked = True
            lines.append(b"transfer-encoding: chunked\r\n")
        lines.append(self._closing())
        lines.append(b"\r\n")
        head = b"".join(lines)
        if self.chunked:
            # A stream: its head goes out now, not with a first event that may be a while.
            connection.transport.write(head)
        else:
            self.head = head

    async def _body(self, body: bytes, more: bool) -> None:
        connection = self.connection
        if self.method == "HEAD":
            body = b""
        if self.chunked:
            out = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            if not more:
                out += b"0\r\n\r\n"
        else:
            out = body
        if self.head is not None:
            out = self.head + out
            self.head = None
        if out:
            connection.transport.write(out)
        if not more:
            self._finish()
        elif connection.write_paused:
            await connection.drain()

    def read_whole(self) -> bytes:
        """The request's body, parsed whole already: read as `receive` would."""
        body = self._take_body()
        self.body_given = True
        return body

    def _take_body(self) -> bytes:
        """The body parsed so far, taken: reading resumes if it was paused for it."""
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks = []
        self.buffered = 0
        self.connection.resume_reading()
        return body

    def _closing(self) -> bytes:
        """The Connection header of the response: `close` when the client asked for it,
        spoke HTTP/1.0 or the server is shutting down (then no more requests are read)."""
        if not self.keep_alive or self.connection.closing:
            self.keep_alive = False
            return b"connection: close\r\n"
        return b""

    def write_whole(self, status: int, lines: bytes, body: bytes) -> None:
        """Send a response of known length at once: the status line, the app's header
        `lines` (each ending in CRLF, Content-Length among them), ours, and the body."""
        if self.disconnected or self.finished:
            return
        self.started = True
        connection = self.connection
        head = (_status(status), lines, connection.default_headers(), self._closing(), b"\r\n")
        connection.transport.write(b"".join((*head, body)))
        self._finish()

    def _finish(self) -> None:
        self.finished = True
        self.wake()
        self.connection.exchange_done(self)
