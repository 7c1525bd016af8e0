"""Orders: a customer places one through the launch's order book; reads, locks, cancels."""

from __future__ import annotations

import re

from launchday.api.context import ApiContext, encode
from launchday.api.payments_wire import PaymentOut
from launchday.api.views import order_history_out, order_out, payment_out
from launchday.api.wire import OrderHistoryOut, OrderOut, OrderRequest, profile_from_spec
from launchday.domain.launch import Launch
from launchday.domain.order import ONLINE, Channel, Order, Origin
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import Header, Request, Response, Route, json_response
from launchday.services.orders import Placed

# Idempotency keys: printable ASCII, as the IETF Idempotency-Key draft expects.
IDEMPOTENCY_KEY_SCHEMA: dict[str, object] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[\x21-\x7e]{1,255}(?!\n)$",
}
_IDEMPOTENCY_KEY = re.compile(str(IDEMPOTENCY_KEY_SCHEMA["pattern"]))
_ORDER_ERRORS = ("unauthenticated", "forbidden", "not_found", "overloaded", "unavailable")


def check_idempotency_key(request: Request) -> str:
    """The request's Idempotency-Key header, which every placement must send."""
    key = request.headers.get("idempotency-key")
    if key is None:
        raise HttpError("missing_header", "send an Idempotency-Key header", "Idempotency-Key")
    if not _IDEMPOTENCY_KEY.match(key):
        raise HttpError(
            "validation",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
            "Idempotency-Key",
        )
    return key


async def placed_answer(ctx: ApiContext, slug: str, placed: Placed) -> Response:
    """The 201 of a placement (online or in a store), with the order's promise and, for
    a launch with payments, what the buyer's app pays the deposit with."""
    services = ctx.services
    deliveries, payments = services.deliveries, services.payments
    launch = services.launches.get(slug)
    if not placed.replayed:
        ctx.metrics.accepted(slug).inc()
    headers = {"Location": f"/api/v1/orders/{placed.order.id}"}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    now = ctx.clock()
    if deliveries.planless(slug):
        promised = None
    elif placed.replayed:
        promised = await deliveries.estimate(placed.order)
    else:  # without awaiting when it can: every order of a burst comes here
        promised = deliveries.placed_at_once(placed.order, now)
        if promised is None:
            promised = await deliveries.placed(placed.order)
    paying = None
    if launch.payments is not None:
        prepared = placed.payment
        if prepared is None or prepared.intent_id is None:  # made at the provider now
            prepared = await payments.prepare(placed.order)
        paying = payment_out(prepared) if prepared is not None else None
    weeks = services.handovers.logistics_weeks(placed.order)
    out = order_out(placed.order, launch, now, promised, paying, weeks)
    return json_response(201, encode(out), headers)


def stored_payment(ctx: ApiContext, order: Order, launch: Launch) -> PaymentOut | None:
    """The order's payment as stored, for a launch with payments."""
    if launch.payments is None:
        return None
    reads = ctx.services.store.reads
    payment = reads.payment_of(order.id)
    if payment is None:
        return None
    return payment_out(payment, reads.refund_of(order.id))


async def order_as_read(ctx: ApiContext, order: Order) -> OrderOut:
    """The order as a read of it answers: its current promise (at its delivery centre)
    and its payment as stored."""
    services = ctx.services
    launch = services.launches.get(order.launch)
    promised = await services.deliveries.estimate(order)
    weeks = services.handovers.logistics_weeks(order)
    return order_out(
        order, launch, ctx.clock(), promised, stored_payment(ctx, order, launch), weeks
    )


def routes(ctx: ApiContext) -> list[Route]:
    orders, launches, clock = ctx.services.orders, ctx.services.launches, ctx.clock
    deliveries = ctx.services.deliveries
    payments = ctx.services.payments
    handovers = ctx.services.handovers

    def paying(order: Order, launch: Launch) -> PaymentOut | None:
        return stored_payment(ctx, order, launch)

    async def place_order(request: Request) -> Response:
        key = check_idempotency_key(request)
        body = decode(request.body, OrderRequest)
        slug = request.params["slug"]
        origin = ONLINE
        if body.channel != "app" or body.delivery_centre is not None:
            if body.delivery_centre is not None:
                handovers.centre(body.delivery_centre)
            origin = Origin(Channel(body.channel), delivery_centre=body.delivery_centre)
        placed = await orders.place(
            slug,
            request.customer,
            key,
            body.sku,
            profile_from_spec(body.profile),
            request.headers.get("admission-token"),
            origin,
        )
        return await placed_answer(ctx, slug, placed)

    async def get_order(request: Request) -> Response:
        caller = request.caller
        order = orders.get(request.params["id"], caller.customer, caller.launch)
        return json_response(200, encode(await order_as_read(ctx, order)))

    async def order_history(request: Request) -> Response:
        caller = request.caller
        order, events = orders.history(request.params["id"], caller.customer, caller.launch)
        moves = deliveries.moves_of(order)
        return json_response(200, encode(order_history_out(order, events, moves)))

    async def lock_order(request: Request) -> Response:
        order = await orders.lock(request.params["id"], request.customer)
        launch = launches.get(order.launch)
        promised = await deliveries.locked(order)
        weeks = handovers.logistics_weeks(order)
        out = order_out(order, launch, clock(), promised, paying(order, launch), weeks)
        return json_response(200, encode(out))

    async def cancel_order(request: Request) -> Response:
        known = orders.get(request.params["id"], request.customer)
        await payments.before_cancel(known)  # an unpaid deposit withdrawn first
        order = await orders.cancel(known.id, request.customer)
        deliveries.changed(order, "an order was cancelled")
        launch = launches.get(order.launch)
        return json_response(
            200, encode(order_out(order, launch, clock(), None, paying(order, launch)))
        )

    return [
        Route(
            method="POST",
            path="/api/v1/launches/{slug}/orders",
            handler=place_order,
            name="place_order",
            auth=("customer",),
            summary="Place an order; 201 only once it is committed to disk",
            body=OrderRequest,
            response=OrderOut,
            status=201,
            errors=(
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
                "payments_unavailable",
            ),
            headers=(
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
            method="GET",
            path="/api/v1/orders/{id}",
            handler=get_order,
            name="get_order",
            auth=("customer", "admin", "support"),
            summary="An order (its customer or the admin)",
            response=OrderOut,
            errors=_ORDER_ERRORS,
        ),
        Route(
            method="GET",
            path="/api/v1/orders/{id}/history",
            handler=order_history,
            name="order_history",
            auth=("customer", "admin", "support"),
            summary="An order's audit trail",
            response=OrderHistoryOut,
            errors=_ORDER_ERRORS,
        ),
        Route(
            method="POST",
            path="/api/v1/orders/{id}/lock",
            handler=lock_order,
            name="lock_order",
            auth=("customer",),
            summary="Lock early: the deposit is no longer refundable",
            response=OrderOut,
            errors=(*_ORDER_ERRORS, "cancelled", "expired", "not_paid"),
        ),
        Route(
            method="POST",
            path="/api/v1/orders/{id}/cancel",
            handler=cancel_order,
            name="cancel_order",
            auth=("customer",),
            summary="Cancel inside the window, with refund",
            response=OrderOut,
            errors=(*_ORDER_ERRORS, "locked", "expired", "payments_unavailable"),
        ),
    ]
