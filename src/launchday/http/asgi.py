"""The ASGI application shell: match the route, check its caller, read the body, run the
handler, map refusals to the one error shape, stream or send, and time it.

A hand-rolled ASGI layer rather than a framework: on the launch-night hot path the
framework costs more than the durable database does (see bench/). The shell knows
nothing of launchday's resources: routes bring their handlers, the app says who a
bearer credential is (`Authenticate`) and what its own exceptions mean (`Refusals`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from launchday.http.errors import STATUS_OF_CODE, HttpError, error_body
from launchday.http.metrics import Metrics
from launchday.http.routing import (
    ANYONE,
    Auth,
    Caller,
    Request,
    Response,
    Route,
    Router,
    json_response,
)

log = logging.getLogger("launchday.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

Authenticate = Callable[[Auth, str | None, dict[str, str]], Caller | Awaitable[Caller]]
"""Who the `Authorization` header names, for a route of this auth and these path
parameters (a key bound to one launch acts on its paths only); or an HttpError
(401 without credentials, 403 for a caller the route does not let in). Awaitable when
finding out needs I/O (an identity provider's keys read again), which is rare."""

Changed = Callable[[Request, Response], Awaitable[None]]
"""Told of every call by the holder of a key (a caller with a role, not a customer) that
succeeded and may have changed something (any method but GET and HEAD, on a route not
declared `read_only`): the audit."""

Refusals = Callable[[Exception], HttpError | None]
"""The refusal an app's own exception stands for (a domain refusal, an overloaded
queue...), or None for an exception that is a bug (500)."""

_JSON = b"application/json"


class HttpApp:
    """Routes behind one ASGI callable."""

    def __init__(
        self,
        routes: list[Route],
        *,
        authenticate: Authenticate,
        refusals: Refusals,
        metrics: Metrics,
        max_body_bytes: int,
        changed: Changed | None = None,
    ) -> None:
        self.router = Router(routes)
        self._changed = changed
        self.metrics = metrics
        self._authenticate = authenticate
        self._refusals = refusals
        self._max_body = max_body_bytes

    async def startup(self) -> None:
        """Before the first request (the ASGI lifespan's startup)."""

    async def shutdown(self) -> None:
        """After the last request (the ASGI lifespan's shutdown)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        query: bytes = scope.get("query_string", b"")
        route, response = await self._answer(
            method, scope["path"], scope["headers"], query, None, receive
        )
        if response.stream is not None and method != "HEAD":
            await self._stream(send, receive, response)
        else:
            await self._send(send, response, head=method == "HEAD")
        self.metrics.requests.observe(route, time.perf_counter() - started)

    async def respond_whole(
        self,
        method: str,
        path: str,
        headers: list[tuple[bytes, bytes]],
        query: bytes,
        body: bytes,
        send: Send,
        receive: Receive,
    ) -> tuple[int, bytes, bytes] | None:
        """A request whose body its server has read whole (launchday's own protocol,
        `launchday.http.protocol`): the response's status, header lines and body for the
        server to write, or None once a streamed response has gone out through `send`.
        What ASGI asks for besides (a scope, messages) costs every request on launch night."""
        started = time.perf_counter()
        route, response = await self._answer(method, path, headers, query, body, receive)
        answer = None
        if response.stream is not None and method != "HEAD":
            await self._stream(send, receive, response)
        else:
            body = b"" if method == "HEAD" else response.body
            answer = (response.status, _head_lines(response), body)
        self.metrics.requests.observe(route, time.perf_counter() - started)
        return answer

    async def _answer(
        self,
        method: str,
        path: str,
        raw_headers: list[tuple[bytes, bytes]],
        raw_query: bytes,
        body: bytes | None,
        receive: Receive,
    ) -> tuple[str, Response]:
        """The route's name (or "unmatched") and the response to the request; `body` is
        None when it is still to be read through `receive`."""
        found = self.router.match(method, path)
        route = found.route
        try:
            if route is None:
                if found.allowed:
                    raise HttpError(
                        "method_not_allowed",
                        f"{method} is not allowed here",
                        headers={"Allow": ", ".join(found.allowed)},
                    )
                raise HttpError("not_found", f"no such path {path!r}")
            headers = {
                name.decode("latin-1"): value.decode("latin-1") for name, value in raw_headers
            }
            # The route's declaration is the one place its callers are checked.
            caller = (
                ANYONE
                if route.auth == "anyone"
                else self._authenticate(route.auth, headers.get("authorization"), found.params)
            )
            if not isinstance(caller, Caller):
                caller = await caller
            query = raw_query.decode("latin-1")
            if query and route.query:
                _known_parameters_only(route, query)
            if route.body is None:
                body = b""
            else:
                limit = route.max_body or self._max_body
                if body is None:
                    body = await self._read_body(headers, receive, limit)
                elif len(body) > limit:
                    raise HttpError("too_large", f"bodies are limited to {limit} bytes")
            request = Request(
                method,
                path,
                found.params,
                headers,
                query,
                body,
                caller,
            )
            response = await route.handler(request)
            if (
                caller.role is not None
                and self._changed is not None
                and method not in ("GET", "HEAD")
                and not route.read_only
                and response.status < 400
            ):
                await self._tell_changed(self._changed, request, response)
        except HttpError as error:
            response = self._refusal(error)
        except Exception as error:
            refusal = self._refusals(error)
            if refusal is None:
                log.exception("unexpected error on %s %s", method, path)
                refusal = HttpError("internal", "an unexpected error occurred")
            response = self._refusal(refusal)
        return route.name if route else "unmatched", response

    @staticmethod
    async def _tell_changed(changed: Changed, request: Request, response: Response) -> None:
        """The change is made: its answer goes out even if the audit cannot keep it."""
        try:
            await changed(request, response)
        except Exception:
            log.exception("the audit could not keep %s %s", request.method, request.path)

    def _refusal(self, error: HttpError) -> Response:
        self.metrics.rejections.labels(error.code).inc()
        return json_response(
            STATUS_OF_CODE.get(error.code, 400),
            error_body(error.code, error.message, error.field),
            error.headers or None,
        )

    @staticmethod
    async def _read_body(headers: dict[str, str], receive: Receive, limit: int) -> bytes:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HttpError("too_large", f"bodies are limited to {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise HttpError("invalid_body", "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HttpError("too_large", f"bodies are limited to {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _send(send: Send, response: Response, *, head: bool = False) -> None:
        raw_headers = [
            (b"content-type", _content_type(response)),
            (b"content-length", str(len(response.body)).encode()),
        ]
        if response.headers:
            raw_headers += [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
        await send(
            {"type": "http.response.start", "status": response.status, "headers": raw_headers}
        )
        await send({"type": "http.response.body", "body": b"" if head else response.body})

    @staticmethod
    async def _stream(send: Send, receive: Receive, response: Response) -> None:
        """Send a streamed body until it ends or the client disconnects."""
        assert response.stream is not None
        raw_headers = [(b"content-type", response.content_type.encode())]
        if response.headers:
            raw_headers += [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
        await send(
            {"type": "http.response.start", "status": response.status, "headers": raw_headers}
        )
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        stream = response.stream
        try:
            if response.body:
                await send({"type": "http.response.body", "body": response.body, "more_body": True})
            async for chunk in stream:
                if gone.is_set():
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b""})
        except OSError:  # the connection broke mid-stream
            pass
        finally:
            watcher.cancel()
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


def _content_type(response: Response) -> bytes:
    content_type = response.content_type
    return _JSON if content_type == "application/json" else content_type.encode()


def _head_lines(response: Response) -> bytes:
    """The header lines of a response of known length, each ending in CRLF."""
    lines = b"content-type: %b\r\ncontent-length: %d\r\n" % (
        _content_type(response),
        len(response.body),
    )
    if response.headers:
        lines += b"".join(
            b"%b: %b\r\n" % (k.lower().encode(), v.encode()) for k, v in response.headers.items()
        )
    return lines


def _known_parameters_only(route: Route, query: str) -> None:
    """A query parameter the route does not read is refused (a misspelt `since` would
    otherwise be ignored without a word)."""
    known = {param.name for param in route.query}
    for name, _ in parse_qsl(query, keep_blank_values=True):
        if name not in known:
            raise HttpError(
                "validation",
                f"unknown query parameter {name!r}; this call reads {', '.join(sorted(known))}",
                name or None,
            )
