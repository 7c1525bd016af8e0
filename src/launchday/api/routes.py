"""The route table: every endpoint, who may call it, what it takes and gives.

The same table routes requests and generates `/openapi.json`, so the documented
surface is the served one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchday.analytics.report import Report
from launchday.api.routing import Header, Route
from launchday.schemas import (
    AdmissionChange,
    AdmissionOut,
    Health,
    ImportReport,
    InterestOut,
    InterestRecord,
    InterestRequest,
    LaunchList,
    LaunchOut,
    LaunchSpec,
    OrderHistoryOut,
    OrderOut,
    OrderRequest,
    ServerTime,
    TicketOut,
)

if TYPE_CHECKING:
    from launchday.api.app import App

# Idempotency keys: printable ASCII, as the IETF Idempotency-Key draft expects.
IDEMPOTENCY_KEY_SCHEMA: dict[str, object] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[\x21-\x7e]{1,255}(?!\n)$",
}

# Registrations come from campaign pages by the hundred thousand: a bigger body than orders.
MAX_IMPORT_BYTES = 16 * 1024 * 1024


def route_table(app: App) -> list[Route]:
    """The app's routes, in the order the OpenAPI document lists them."""
    launch_errors = ("not_found",)
    order_errors = ("unauthenticated", "forbidden", "not_found", "overloaded", "unavailable")
    return [
        Route(
            "POST",
            "/api/v1/launches",
            app.create_launch,
            "create_launch",
            "Create a launch",
            "admin",
            LaunchSpec,
            LaunchOut,
            201,
            (
                "invalid_body",
                "validation",
                "unauthenticated",
                "forbidden",
                "already_exists",
                "too_large",
                "overloaded",
                "unavailable",
            ),
        ),
        Route(
            "GET",
            "/api/v1/launches",
            app.list_launches,
            "list_launches",
            "List launches, newest first",
            "anyone",
            None,
            LaunchList,
        ),
        Route(
            "GET",
            "/api/v1/launches/{slug}",
            app.get_launch,
            "get_launch",
            "A launch, its variants and live counts",
            "anyone",
            None,
            LaunchOut,
            200,
            launch_errors,
        ),
        Route(
            "POST",
            "/api/v1/launches/{slug}/interest",
            app.register_interest,
            "register_interest",
            "Register interest with a profile (idempotent per customer: 201, then 200)",
            "customer",
            InterestRequest,
            InterestOut,
            201,
            (
                "invalid_body",
                "validation",
                "unauthenticated",
                "forbidden",
                "not_found",
                "not_open",
                "too_large",
                "overloaded",
                "unavailable",
            ),
        ),
        Route(
            "POST",
            "/api/v1/launches/{slug}/interest/import",
            app.import_interest,
            "import_interest",
            "Bulk-import registrations with their own times and profiles. The body is"
            " NDJSON, one InterestRecord per line, up to 16 MiB; valid lines are imported,"
            " each invalid one is reported with its line number",
            "admin",
            InterestRecord,
            ImportReport,
            200,
            ("unauthenticated", "forbidden", "not_found", "too_large", "overloaded", "unavailable"),
            body_content_type="application/x-ndjson",
            max_body=MAX_IMPORT_BYTES,
        ),
        Route(
            "POST",
            "/api/v1/launches/{slug}/orders",
            app.place_order,
            "place_order",
            "Place an order; 201 only once it is committed to disk",
            "customer",
            OrderRequest,
            OrderOut,
            201,
            (
                "invalid_body",
                "missing_header",
                "validation",
                "unauthenticated",
                "forbidden",
                "not_found",
                "not_open",
                "sold_out",
                "limit_reached",
                "idempotency_conflict",
                "admission_required",
                "too_large",
                "overloaded",
                "unavailable",
            ),
            (
                Header(
                    "Idempotency-Key",
                    True,
                    "Unique per intended order; a retry with the same key returns the same"
                    " order (header Idempotent-Replayed: true)",
                    IDEMPOTENCY_KEY_SCHEMA,
                ),
                Header(
                    "Admission-Token",
                    False,
                    "Required when the launch has a waiting room: the token its ticket"
                    " carries once admitted",
                    {"type": "string"},
                ),
            ),
        ),
        Route(
            "POST",
            "/api/v1/launches/{slug}/queue",
            app.join_queue,
            "join_queue",
            "Join the waiting room: the same customer always gets the same ticket"
            " (201 the first time, then 200). A ticket whose admission lapsed rejoins:"
            " within the launch's rejoin grace it keeps its place and is admitted again at"
            " once (once per place), else it goes to the back of the queue",
            "customer",
            None,
            TicketOut,
            201,
            ("unauthenticated", "forbidden", "not_found", "overloaded", "unavailable"),
        ),
        Route(
            "GET",
            "/api/v1/launches/{slug}/queue/{ticket}",
            app.read_ticket,
            "read_ticket",
            "A ticket's state, position, people ahead and ETA; the admission token once"
            " admitted. Served from memory: poll it as advised by Retry-After",
            "customer",
            None,
            TicketOut,
            200,
            ("unauthenticated", "forbidden", "not_found"),
        ),
        Route(
            "GET",
            "/api/v1/launches/{slug}/admission",
            app.read_admission,
            "read_admission",
            "The waiting room's rate, pause state and counts",
            "admin",
            None,
            AdmissionOut,
            200,
            ("unauthenticated", "forbidden", "not_found"),
        ),
        Route(
            "POST",
            "/api/v1/launches/{slug}/admission",
            app.change_admission,
            "change_admission",
            "Change the admission rate, pause or resume; in force at once",
            "admin",
            AdmissionChange,
            AdmissionOut,
            200,
            (
                "invalid_body",
                "validation",
                "unauthenticated",
                "forbidden",
                "not_found",
                "overloaded",
                "unavailable",
            ),
        ),
        Route(
            "GET",
            "/api/v1/orders/{id}",
            app.get_order,
            "get_order",
            "An order (its customer or the admin)",
            "customer_or_admin",
            None,
            OrderOut,
            200,
            order_errors,
        ),
        Route(
            "GET",
            "/api/v1/orders/{id}/history",
            app.order_history,
            "order_history",
            "An order's audit trail",
            "customer_or_admin",
            None,
            OrderHistoryOut,
            200,
            order_errors,
        ),
        Route(
            "POST",
            "/api/v1/orders/{id}/lock",
            app.lock_order,
            "lock_order",
            "Lock early: the deposit is no longer refundable",
            "customer",
            None,
            OrderOut,
            200,
            (*order_errors, "cancelled"),
        ),
        Route(
            "POST",
            "/api/v1/orders/{id}/cancel",
            app.cancel_order,
            "cancel_order",
            "Cancel inside the window, with refund",
            "customer",
            None,
            OrderOut,
            200,
            (*order_errors, "locked"),
        ),
        Route(
            "GET",
            "/api/v1/launches/{slug}/report",
            app.report,
            "launch_report",
            "The launch report (launch time): totals, milestones, per-second series,"
            " interest and buyer composition; ?compare=OTHER adds ratios against another"
            " launch aligned on time since opening",
            "admin",
            None,
            Report,
            200,
            ("unauthenticated", "forbidden", "not_found"),
        ),
        Route(
            "GET",
            "/api/v1/time",
            app.server_time,
            "server_time",
            "The server's clock (real time), for clients to align with",
            "anyone",
            None,
            ServerTime,
        ),
        Route("GET", "/healthz", app.healthz, "healthz", "Health", "anyone", None, Health),
        Route(
            "GET",
            "/metrics",
            app.metrics_text,
            "metrics",
            "Prometheus metrics",
            "anyone",
            None,
            None,
            200,
            (),
            (),
            "text/plain",
        ),
        Route(
            "GET",
            "/openapi.json",
            app.openapi,
            "openapi",
            "This OpenAPI document",
            "anyone",
            None,
            None,
        ),
        *app.dashboard.routes(),
    ]
