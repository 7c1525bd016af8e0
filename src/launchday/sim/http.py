"""A small HTTP/1.1 client for the load driver: keep-alive connections, one request at a
time on each, responses parsed by httptools (the parser uvicorn serves with).

The replay of a launch peak has to come from one core. aiohttp spends about 200 us of
client CPU on an order; this client does without its layers (cookie jar, redirects,
tracing, multidicts, stream readers) and spends a fraction of that.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httptools


class TransportError(Exception):
    """The connection failed, or closed before the whole response arrived."""


Answer = tuple[int, dict[str, str], bytes]  # status, headers (lower-case names), body


class _Connection(asyncio.Protocol):
    """One keep-alive connection; its response parser calls back as bytes arrive."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(TransportError(f"malformed response: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(TransportError(f"connection closed: {exc}" if exc else "connection closed"))

    # httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer = (self._parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body = {}, []
        if not self._parser.should_keep_alive():
            self.close()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    # --------------------------------------------------------------------------------

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


def _expire(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no answer in time"))


class HttpClient:
    """Requests to one server over at most `connections` keep-alive connections."""

    def __init__(self, base_url: str, *, connections: int, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected http://host[:port], got {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._host_header = parts.netloc
        self._timeout = timeout
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> Answer:
        """Send one request and read its whole answer; TransportError or TimeoutError
        when the connection fails (the connection is then dropped, never reused)."""
        async with self._slots:
            connection = await self._connection()
            head = [f"{method} {path} HTTP/1.1", f"Host: {self._host_header}"]
            head += [f"{name}: {value}" for name, value in headers.items()]
            if body is not None or method in ("POST", "PUT", "PATCH"):
                head.append(f"Content-Length: {len(body) if body else 0}")
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[Answer] = loop.create_future()
            connection.waiter = waiter
            assert connection.transport is not None
            connection.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
            timer = loop.call_later(self._timeout, _expire, waiter)
            try:
                answer = await waiter
            except BaseException:
                # A late answer must not reach the next request on this connection.
                connection.close()
                self._open.discard(connection)
                raise
            finally:
                timer.cancel()
            if connection.closed:
                self._open.discard(connection)
            else:
                self._idle.append(connection)
            return answer

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
            self._open.discard(connection)
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                _Connection, self._host, self._port
            )
        except OSError as error:
            raise TransportError(f"cannot connect: {error}") from error
        self._open.add(connection)
        return connection

    async def close(self) -> None:
        """Close every connection."""
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing


class Refused(Exception):
    """The server answered with an error body."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


def error_code(answer: Any) -> str:
    """The `code` of an error body, or "unexpected" for any other answer."""
    try:
        return str(answer["error"]["code"])
    except (TypeError, KeyError):
        return "unexpected"
