"""HTTP/1.1 for the ASGI app: httptools parses, uvloop moves the bytes, this glues them.

uvicorn runs the server (sockets, workers, lifespan, signals, graceful shutdown); this
module is only the per-connection protocol it is given instead of its own httptools
one, and `launchday.http.exchange` each request and response on it. It exists for
speed: profiled under a launch-night load, uvicorn's protocol spent about 17 us of one
core on every request (an event and a flow-control object per request, header checks
on every response, two socket writes per response) where this one spends about 5
(bench/README.md has the profile). An app that offers `respond_whole` (launchday's
own) is handed a request whose body has arrived whole without the ASGI scope and
messages, and answers with the response to write: about 4 us less again per request.
What it keeps of HTTP/1.1:

- keep-alive, closed after `timeout_keep_alive` seconds idle, and `Connection: close`
  and HTTP/1.0 answered by closing after the response;
- pipelining: requests arriving behind one in flight wait their turn, in order;
- request bodies streamed to the app (httptools decodes chunked ones), reading paused
  while more than 64 KiB waits unread, and `Expect: 100-continue` answered once the
  app asks for the body;
- a response with a Content-Length goes out in one write, head and body together; one
  without is sent chunked as the app produces it (the dashboard's event stream), with
  writing paused while the socket's buffer is full;
- the Date header (refreshed every second by uvicorn) on every response;
- a malformed request, or request headers over 64 KiB, answered 400 or 431 in the API's
  error shape, and the connection closed;
- an exception escaping the app answered 500 (or the connection closed if the response
  had begun).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any
from urllib.parse import unquote

import httptools

from launchday.http.errors import error_body
from launchday.http.exchange import STATUS_LINES, Exchange, RespondWhole

log = logging.getLogger("launchday.http")

MAX_HEAD_BYTES = 64 * 1024
BODY_HIGH_WATER = 64 * 1024


class _DefaultHeaders:
    """uvicorn's default headers (Date) as one block of bytes, re-joined only when
    uvicorn replaces the list (once a second)."""

    def __init__(self) -> None:
        self._source: object = None
        self._block = b""

    def block(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        if headers is not self._source:
            self._block = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
            self._source = headers
        return self._block


class HttpProtocol(asyncio.Protocol):
    """One client connection, for uvicorn: `uvicorn.Config(app, http=HttpProtocol)`."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.app = config.loaded_app
        self.respond_whole: RespondWhole | None = getattr(self.app, "respond_whole", None)
        self.loop = _loop or asyncio.get_event_loop()
        self.server_state = server_state
        self.keep_alive_timeout: float = config.timeout_keep_alive
        self.app_state = app_state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.server: tuple[str, int] | None = None
        self.client: tuple[str, int] | None = None
        # The exchange being answered, the ones parsed behind it, the one being parsed.
        self.current: Exchange | None = None
        self.queued: deque[Exchange] = deque()
        self.parsing: Exchange | None = None
        self.task: asyncio.Task[None] | None = None
        self.closing = False
        self.reading_paused = False
        self.write_paused = False
        self.drained: asyncio.Future[None] | None = None
        self.last_active = 0.0
        self.idle_timer: asyncio.TimerHandle | None = None
        # The request head being parsed.
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.expect_continue = False

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is duck-typed
        self.server_state.connections.add(self)
        self.server = _address(transport.get_extra_info("sockname"))
        self.client = _address(transport.get_extra_info("peername"))
        self.last_active = self.loop.time()
        self.idle_timer = self.loop.call_later(self.keep_alive_timeout, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        self.closing = True
        for exchange in (self.current, *self.queued, self.parsing):
            if exchange is not None and not exchange.finished:
                exchange.disconnected = True
                exchange.wake()
        self.queued.clear()
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self._wake_writers()

    def data_received(self, data: bytes) -> None:
        self.last_active = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no protocol upgrades here: the request is answered as plain HTTP
        except httptools.HttpParserError:
            self._refuse(400, "invalid_body", "malformed HTTP request")

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_writers()

    # --- uvicorn's graceful shutdown -------------------------------------------------------

    def shutdown(self) -> None:
        """Close now when idle, else once the response in flight has gone out."""
        self.closing = True
        if self.current is None:
            self.transport.close()

    # --- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.head_bytes = 0
        self.expect_continue = False

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        # Called for every header of every request: the count is kept inline.
        name = name.lower()
        self.headers.append((name, value))
        self.head_bytes += len(name) + len(value)
        if self.head_bytes > MAX_HEAD_BYTES:
            self._head_too_large()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True

    def on_headers_complete(self) -> None:
        if self.transport.is_closing():
            return
        parser = self.parser
        parsed = httptools.parse_url(self.url)
        raw_path: bytes = parsed.path
        path = raw_path.decode("latin-1")
        if "%" in path:
            path = unquote(path)
        version = parser.get_http_version()
        method = parser.get_method().decode("ascii")
        request = (method, path, raw_path, parsed.query or b"", version, self.headers)
        keep_alive = version != "1.0" and parser.should_keep_alive()
        exchange = Exchange(self, request, keep_alive, self.expect_continue)
        self.parsing = exchange
        if self.current is None:
            self._start(exchange)
        else:
            # Pipelined behind the one in flight: answered in turn; read no further meanwhile.
            self.queued.append(exchange)
            self.pause_reading()

    def on_body(self, body: bytes) -> None:
        exchange = self.parsing
        if exchange is None or exchange.finished or exchange.body_given:
            return  # answered already (say, refused as too large): the rest is dropped
        exchange.chunks.append(body)
        exchange.buffered += len(body)
        if exchange.buffered > BODY_HIGH_WATER:
            self.pause_reading()
        exchange.wake()

    def on_message_complete(self) -> None:
        exchange = self.parsing
        if exchange is not None:
            exchange.complete = True
            exchange.wake()

    # --- running the app ----------------------------------------------------------------

    def _start(self, exchange: Exchange) -> None:
        self.current = exchange
        self.task = self.loop.create_task(self._run(exchange))

    async def _run(self, exchange: Exchange) -> None:
        try:
            if self.respond_whole is not None and exchange.complete:
                # The whole request is here (nearly every one): no ASGI messages.
                answer = await self.respond_whole(
                    exchange.method,
                    exchange.path,
                    exchange.headers,
                    exchange.query,
                    exchange.read_whole(),
                    exchange.send,
                    exchange.receive,
                )
                if answer is not None:
                    exchange.write_whole(*answer)
            else:
                await self.app(exchange.scope, exchange.receive, exchange.send)
        except Exception:
            log.exception("unhandled error in the app")
            self._fail(exchange)
            return
        if not exchange.finished and not exchange.disconnected:
            log.error("the app returned without completing its response")
            self._fail(exchange)

    def _fail(self, exchange: Exchange) -> None:
        if exchange.disconnected or self.transport.is_closing():
            return
        if exchange.started:
            self.transport.close()
        else:
            self._refuse(500, "internal", "an unexpected error occurred")

    def exchange_done(self, exchange: Exchange) -> None:
        """The response has gone out: close, start the next pipelined request, or idle."""
        self.server_state.total_requests += 1
        self.current = None
        self.task = None
        if self.transport.is_closing():
            return
        if not exchange.keep_alive or self.closing:
            self.transport.close()
            return
        self.last_active = self.loop.time()
        if self.queued:
            self._start(self.queued.popleft())
        self.resume_reading()

    # --- flow control and timeouts ---------------------------------------------------------

    def pause_reading(self) -> None:
        if not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.queued and not self.transport.is_closing():
            exchange = self.parsing
            if exchange is None or exchange.buffered <= BODY_HIGH_WATER:
                self.reading_paused = False
                self.transport.resume_reading()

    async def drain(self) -> None:
        if self.drained is None or self.drained.done():
            self.drained = self.loop.create_future()
        await self.drained

    def _wake_writers(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def _check_idle(self) -> None:
        # One timer per connection, re-armed from the last activity, rather than a new
        # timer after every response.
        if self.transport.is_closing():
            return
        idle_for = self.loop.time() - self.last_active
        if self.current is None and idle_for >= self.keep_alive_timeout:
            self.transport.close()
            return
        wait = max(self.keep_alive_timeout - idle_for, 0.1)
        self.idle_timer = self.loop.call_later(wait, self._check_idle)

    def default_headers(self) -> bytes:
        return _DEFAULTS.block(self.server_state.default_headers)

    def _count_head(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > MAX_HEAD_BYTES:
            self._head_too_large()

    def _head_too_large(self) -> None:
        self._refuse(431, "too_large", f"request headers are limited to {MAX_HEAD_BYTES} bytes")
        raise httptools.HttpParserError("request head too large")

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer in the API's error shape and close the connection (the parser's state
        cannot be trusted after a bad request)."""
        if self.transport.is_closing():
            return
        body = error_body(code, message)
        self.transport.write(
            STATUS_LINES[status]
            + b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body)
            + self.default_headers()
            + b"connection: close\r\n\r\n"
            + body
        )
        self.transport.close()


_DEFAULTS = _DefaultHeaders()


def _address(info: Any) -> tuple[str, int] | None:
    if isinstance(info, tuple) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None
