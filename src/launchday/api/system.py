"""The server itself: its clock, its health, its metrics and its OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

from launchday import __version__
from launchday.api.context import ApiContext, encode
from launchday.api.wire import Health, ServerTime
from launchday.domain.clock import rfc3339
from launchday.http.errors import HttpError
from launchday.http.openapi import openapi_document
from launchday.http.routing import Request, Response, Route, json_response

BEARER = "A customer JWT (HS256, sub = customer id) or the admin key."


def routes(ctx: ApiContext, every_route: Callable[[], list[Route]]) -> list[Route]:
    """The system routes; `every_route` gives the app's whole table, for /openapi.json."""
    document: list[bytes] = []

    async def server_time(request: Request) -> Response:
        return json_response(200, encode(ServerTime(rfc3339(ctx.clock()))))

    async def healthz(request: Request) -> Response:
        off = ctx.clock_watch.off()
        if off is not None:  # the load balancer takes this host out until it is put right
            raise HttpError(
                "unavailable",
                f"this host's clock is {off.seconds:+.3f} s off the database's",
                headers={"Retry-After": "10"},
            )
        return json_response(200, encode(Health("ok", __version__)))

    async def metrics_text(request: Request) -> Response:
        ctx.metrics.write_queue.set(ctx.services.store.pending_writes())
        offset = ctx.clock_watch.offset
        if offset is not None:
            ctx.metrics.clock_offset.set(offset.seconds)
        return Response(200, ctx.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")

    async def openapi(request: Request) -> Response:
        if not document:
            document.append(
                encode(
                    openapi_document(
                        every_route(), title="launchday", version=__version__, bearer=BEARER
                    )
                )
            )
        return json_response(200, document[0])

    return [
        Route(
            method="GET",
            path="/api/v1/time",
            handler=server_time,
            name="server_time",
            auth="anyone",
            summary="The server's clock (real time), for clients to align with",
            response=ServerTime,
        ),
        Route(
            method="GET",
            path="/healthz",
            handler=healthz,
            name="healthz",
            auth="anyone",
            summary="Health (503 while this host's clock is off the database's)",
            response=Health,
            errors=("unavailable",),
        ),
        Route(
            method="GET",
            path="/metrics",
            handler=metrics_text,
            name="metrics",
            auth="anyone",
            summary="Prometheus metrics",
            content_type="text/plain",
        ),
        Route(
            method="GET",
            path="/openapi.json",
            handler=openapi,
            name="openapi",
            auth="anyone",
            summary="This OpenAPI document",
        ),
    ]
