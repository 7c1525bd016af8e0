"""The ASGI application: thin handlers that parse, call a service, and encode.

A hand-rolled ASGI layer rather than a framework: on the launch-night hot path the
framework costs more than the durable database does (see bench/).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs

import msgspec

from launchday import __version__
from launchday.analytics.queries import build_report
from launchday.api.auth import Authenticator
from launchday.api.errors import STATUS_OF_CODE, ApiError, error_body
from launchday.api.metrics import Metrics
from launchday.api.openapi import openapi_document
from launchday.api.routes import IDEMPOTENCY_KEY_SCHEMA, route_table
from launchday.api.routing import Request, Response, Router, json_response
from launchday.api.views import (
    admission_out,
    interest_out,
    launch_out,
    order_history_out,
    order_out,
    poll_after_seconds,
    ticket_out,
)
from launchday.config import Settings
from launchday.domain.clock import rfc3339
from launchday.domain.errors import DomainError
from launchday.domain.order import Profile
from launchday.schemas import (
    AdmissionChange,
    Health,
    ImportRejection,
    ImportReport,
    InterestRecord,
    InterestRequest,
    LaunchList,
    LaunchSpec,
    LaunchSummary,
    OrderRequest,
    ServerTime,
    profile_from_spec,
)
from launchday.services import LaunchService
from launchday.store import open_store
from launchday.store.ports import Overloaded, Store, StoreUnavailable
from launchday.web.dashboard import Dashboard

log = logging.getLogger("launchday.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
S = TypeVar("S")

_encode = msgspec.json.Encoder().encode
_decoders: dict[type, msgspec.json.Decoder[Any]] = {}
_FIELD_AT = re.compile(r" - at `\$\.?(.*)`$")
_NAMED_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `([^`]*)`")
# Idempotency keys: printable ASCII, as the IETF Idempotency-Key draft expects.
_IDEMPOTENCY_KEY = re.compile(str(IDEMPOTENCY_KEY_SCHEMA["pattern"]))
MAX_REJECTIONS_SHOWN = 1000
_JSON = b"application/json"


def utc_now() -> datetime:
    """The wall clock, read only at the edge."""
    return datetime.now(UTC)


def decode(body: bytes, kind: type[S]) -> S:
    """Decode and validate a JSON body, or raise the matching 400/422."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        return decoder.decode(body)  # type: ignore[no-any-return]
    except msgspec.ValidationError as error:
        message = str(error)
        raise ApiError("validation", _FIELD_AT.sub("", message), _field_of(message)) from None
    except msgspec.DecodeError as error:
        raise ApiError("invalid_body", f"the body is not valid JSON: {error}") from None
    except UnicodeDecodeError:
        raise ApiError("invalid_body", "the body is not UTF-8") from None


def _field_of(message: str) -> str | None:
    """The field a msgspec validation message is about, as `variants[0].sku`."""
    at = _FIELD_AT.search(message)
    path = at.group(1) if at else ""
    named = _NAMED_FIELD.match(message)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return path or None


class App:
    """The launchday ASGI app; `create_app(settings)` makes one."""

    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = Metrics()
        self.service = LaunchService(store, clock, settings.secret)
        self.auth = Authenticator(settings.secret, settings.admin_key)
        self.dashboard = Dashboard(self.service, store, clock)
        self.router = Router(route_table(self))
        self._openapi: bytes | None = None
        self._started = False
        observer = getattr(store, "set_commit_observer", None)
        if observer is not None:
            observer(self.metrics.commit_batch.observe)

    # --- lifecycle ---------------------------------------------------------------------

    async def startup(self) -> None:
        if not self._started:
            await self.store.start()
            self._started = True

    async def shutdown(self) -> None:
        if self._started:
            await self.store.stop()
            self._started = False

    # --- ASGI --------------------------------------------------------------------------

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
        found = self.router.match(method, scope["path"])
        route = found.route
        try:
            if route is None:
                if found.allowed:
                    raise ApiError(
                        "method_not_allowed",
                        f"{method} is not allowed here",
                        headers={"Allow": ", ".join(found.allowed)},
                    )
                raise ApiError("not_found", f"no such path {scope['path']!r}")
            headers = {
                name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
            }
            body = b""
            if route.body is not None:
                limit = route.max_body or self.settings.max_body_bytes
                body = await self._read_body(headers, receive, limit)
            request = Request(
                method,
                scope["path"],
                found.params,
                headers,
                scope.get("query_string", b"").decode("latin-1"),
                body,
            )
            response = await route.handler(request)
        except ApiError as error:
            response = self._refusal(error.code, error.message, error.field, error.headers)
        except DomainError as error:
            response = self._refusal(error.code, error.message, error.field)
        except Overloaded as error:
            response = self._refusal(
                "overloaded", str(error), None, {"Retry-After": str(error.retry_after)}
            )
        except StoreUnavailable as error:
            response = self._refusal(
                "unavailable", str(error), None, {"Retry-After": str(error.retry_after)}
            )
        except Exception:
            log.exception("unexpected error on %s %s", method, scope["path"])
            response = self._refusal("internal", "an unexpected error occurred")
        if response.stream is not None and method != "HEAD":
            await self._stream(send, receive, response)
        else:
            await self._send(send, response, head=method == "HEAD")
        self.metrics.requests.observe(
            route.name if route else "unmatched", time.perf_counter() - started
        )

    def _refusal(
        self,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        self.metrics.rejections.labels(code).inc()
        return json_response(
            STATUS_OF_CODE.get(code, 400), error_body(code, message, field), headers
        )

    @staticmethod
    async def _read_body(headers: dict[str, str], receive: Receive, limit: int) -> bytes:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError("too_large", f"bodies are limited to {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ApiError("invalid_body", "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise ApiError("too_large", f"bodies are limited to {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _send(send: Send, response: Response, *, head: bool = False) -> None:
        content_type = response.content_type
        raw_headers = [
            (
                b"content-type",
                _JSON if content_type == "application/json" else content_type.encode(),
            ),
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

    # --- handlers ----------------------------------------------------------------------

    async def create_launch(self, request: Request) -> Response:
        self.auth.admin(request.headers.get("authorization"))
        spec = decode(request.body, LaunchSpec)
        launch = await self.service.create_launch(spec)
        state = self.service.launch_state(launch.slug)
        return json_response(
            201,
            _encode(launch_out(state)),
            {"Location": f"/api/v1/launches/{launch.slug}"},
        )

    async def list_launches(self, request: Request) -> Response:
        summaries = [
            LaunchSummary(launch.slug, launch.name, rfc3339(launch.opens_at))
            for launch in self.service.launches()
        ]
        return json_response(200, _encode(LaunchList(summaries)))

    async def get_launch(self, request: Request) -> Response:
        return json_response(
            200, _encode(launch_out(self.service.launch_state(request.params["slug"])))
        )

    async def register_interest(self, request: Request) -> Response:
        customer = self.auth.customer(request.headers.get("authorization"))
        body = decode(request.body, InterestRequest) if request.body.strip() else InterestRequest()
        profile = profile_from_spec(body.profile) or Profile()
        interest, created = await self.service.register_interest(
            request.params["slug"], customer, profile
        )
        return json_response(201 if created else 200, _encode(interest_out(interest)))

    async def import_interest(self, request: Request) -> Response:
        self.auth.admin(request.headers.get("authorization"))
        slug = request.params["slug"]
        self.service.launch(slug)
        records: list[tuple[str, datetime, Profile]] = []
        rejected: list[ImportRejection] = []
        lines = 0
        for number, raw in enumerate(request.body.split(b"\n"), start=1):
            if not raw.strip():
                continue
            lines += 1
            try:
                record = decode(raw, InterestRecord)
            except ApiError as error:
                rejected.append(ImportRejection(number, error.code, error.message, error.field))
                continue
            profile = profile_from_spec(record.profile) or Profile()
            records.append((record.customer, record.registered_at, profile))
        new = await self.service.import_interest(slug, records) if records else 0
        report = ImportReport(
            lines=lines,
            imported=len(records),
            new=new,
            updated=len(records) - new,
            rejected_count=len(rejected),
            rejected=rejected[:MAX_REJECTIONS_SHOWN],
        )
        return json_response(200, _encode(report))

    async def place_order(self, request: Request) -> Response:
        customer = self.auth.customer(request.headers.get("authorization"))
        key = request.headers.get("idempotency-key")
        if key is None:
            raise ApiError("missing_header", "send an Idempotency-Key header", "Idempotency-Key")
        if not _IDEMPOTENCY_KEY.match(key):
            raise ApiError(
                "validation",
                "Idempotency-Key must be 1 to 255 printable ASCII characters",
                "Idempotency-Key",
            )
        body = decode(request.body, OrderRequest)
        slug = request.params["slug"]
        placed = await self.service.place_order(
            slug,
            customer,
            key,
            body.sku,
            profile_from_spec(body.profile),
            request.headers.get("admission-token"),
        )
        launch = self.service.launch(slug)
        if not placed.replayed:
            self.metrics.accepted(slug).inc()
        headers = {"Location": f"/api/v1/orders/{placed.order.id}"}
        if placed.replayed:
            headers["Idempotent-Replayed"] = "true"
        return json_response(201, _encode(order_out(placed.order, launch, self.clock())), headers)

    async def join_queue(self, request: Request) -> Response:
        customer = self.auth.customer(request.headers.get("authorization"))
        slug = request.params["slug"]
        ticket, created = await self.service.rooms.join(slug, customer)
        await self.service.rooms.settled(slug)
        return self._ticket_response(slug, ticket.ticket, customer, 201 if created else 200)

    async def read_ticket(self, request: Request) -> Response:
        customer = self.auth.customer(request.headers.get("authorization"))
        slug = request.params["slug"]
        await self.service.rooms.settled(slug)
        return self._ticket_response(slug, request.params["ticket"], customer)

    def _ticket_response(
        self, slug: str, ticket_id: str, customer: str, status: int = 200
    ) -> Response:
        reading = self.service.rooms.read(slug, ticket_id, customer)
        launch = self.service.launch(slug)
        poll = poll_after_seconds(reading.view, launch, reading.at)
        body = ticket_out(slug, reading, poll)
        # Retry-After takes whole seconds; poll_after_seconds in the body is precise.
        headers = {"Retry-After": str(math.ceil(poll))} if poll is not None else None
        return json_response(status, _encode(body), headers)

    async def change_admission(self, request: Request) -> Response:
        self.auth.admin(request.headers.get("authorization"))
        slug = request.params["slug"]
        change = decode(request.body, AdmissionChange)
        await self.service.rooms.settled(slug)
        snapshot = await self.service.rooms.change(slug, change.rate_per_second, change.paused)
        return json_response(200, _encode(admission_out(slug, snapshot)))

    async def read_admission(self, request: Request) -> Response:
        self.auth.admin(request.headers.get("authorization"))
        slug = request.params["slug"]
        await self.service.rooms.settled(slug)
        snapshot = self.service.rooms.snapshot(slug)
        if snapshot is None:
            raise ApiError("not_found", f"launch {slug!r} has no waiting room", "slug")
        return json_response(200, _encode(admission_out(slug, snapshot)))

    async def get_order(self, request: Request) -> Response:
        caller = self.auth.caller(request.headers.get("authorization"))
        order = self.service.order_for(request.params["id"], caller.customer)
        launch = self.service.launch(order.launch)
        return json_response(200, _encode(order_out(order, launch, self.clock())))

    async def order_history(self, request: Request) -> Response:
        caller = self.auth.caller(request.headers.get("authorization"))
        order, events = self.service.history(request.params["id"], caller.customer)
        return json_response(200, _encode(order_history_out(order, events)))

    async def lock_order(self, request: Request) -> Response:
        customer = self.auth.customer(request.headers.get("authorization"))
        order = await self.service.lock_order(request.params["id"], customer)
        launch = self.service.launch(order.launch)
        return json_response(200, _encode(order_out(order, launch, self.clock())))

    async def cancel_order(self, request: Request) -> Response:
        customer = self.auth.customer(request.headers.get("authorization"))
        order = await self.service.cancel_order(request.params["id"], customer)
        launch = self.service.launch(order.launch)
        return json_response(200, _encode(order_out(order, launch, self.clock())))

    async def report(self, request: Request) -> Response:
        self.auth.admin(request.headers.get("authorization"))
        slug = request.params["slug"]
        query = parse_qs(request.query)
        compare = query.get("compare", [None])[-1]
        now = self.clock()
        report = await self.store.read_in_thread(
            lambda conn: build_report(conn, slug, compare=compare, now=now)
        )
        return json_response(200, _encode(report))

    async def server_time(self, request: Request) -> Response:
        return json_response(200, _encode(ServerTime(rfc3339(self.clock()))))

    async def healthz(self, request: Request) -> Response:
        return json_response(200, _encode(Health("ok", __version__)))

    async def metrics_text(self, request: Request) -> Response:
        self.metrics.write_queue.set(self.store.pending_writes())
        return Response(200, self.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")

    async def openapi(self, request: Request) -> Response:
        if self._openapi is None:
            self._openapi = _encode(openapi_document(self.router.routes, __version__))
        return json_response(200, self._openapi)


def create_app(
    settings: Settings,
    store: Store | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> App:
    """The ASGI app for `settings`; nothing connects until startup."""
    return App(settings, store or open_store(settings.db_url, clock), clock)
