"""The HTTP API: one module per resource, each with its handlers and its routes.

Handlers are thin: parse, call a use case (`launchday.services`), encode. Who may call a
route is its declaration (`auth`), enforced by the app's router, nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable

from launchday.api import (
    access,
    handovers,
    interest,
    launches,
    orders,
    payments,
    production,
    queue,
    reports,
    store_orders,
    stores,
    system,
    test_drives,
)
from launchday.api.context import ApiContext
from launchday.http.routing import Route


def api_routes(ctx: ApiContext, every_route: Callable[[], list[Route]]) -> list[Route]:
    """The API's routes, in the order the OpenAPI document lists them; `every_route`
    gives the app's whole table (the API's and the dashboard's), which it documents."""
    return [
        *launches.routes(ctx),
        *interest.routes(ctx),
        *orders.routes(ctx),
        *queue.routes(ctx),
        *production.routes(ctx),
        *payments.routes(ctx),
        *reports.routes(ctx),
        *access.routes(ctx),
        *stores.routes(ctx),
        *test_drives.routes(ctx),
        *store_orders.routes(ctx),
        *handovers.routes(ctx),
        *system.routes(ctx, every_route),
    ]
