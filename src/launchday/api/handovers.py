"""Delivery centres and handovers over HTTP: the buyer picks (or changes) the centre on
an order, and once the car is built sees the centre's handover slots, books one, moves
or gives it up and adds it to a phone's calendar; the centre's staff mark it done or a
no-show. docs/stores.md, "Delivery centres and handovers"."""

from __future__ import annotations

from urllib.parse import parse_qs

from launchday.api.bookings_wire import (
    BookingOut,
    CentreRequest,
    HandoverRequest,
    SlotsOut,
    booking_out,
    slot_out,
)
from launchday.api.calendar_files import calendar_of
from launchday.api.context import ApiContext, encode
from launchday.api.orders import order_as_read
from launchday.api.query_params import date_param, days_param
from launchday.api.test_drives import CALENDAR, STAFF_MARKS
from launchday.api.wire import OrderOut
from launchday.domain.booking import Booking, BookingKind
from launchday.domain.slots import MAX_DAYS
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import QueryParam, Request, Response, Route, json_response


def routes(ctx: ApiContext) -> list[Route]:
    services = ctx.services
    handovers, clock = services.handovers, ctx.clock

    def out(booking: Booking, status: int = 200) -> Response:
        return json_response(status, encode(booking_out(booking, clock())))

    def scheduled(request: Request) -> Booking:
        found = handovers.of_order(request.params["id"], request.customer)
        if found is None:
            raise HttpError("not_found", "the order has no handover booked", "id")
        return found

    async def choose_centre(request: Request) -> Response:
        body = decode(request.body, CentreRequest)
        order = await handovers.choose_centre(
            request.params["id"], request.customer, body.delivery_centre
        )
        return json_response(200, encode(await order_as_read(ctx, order)))

    async def free_slots(request: Request) -> Response:
        query = parse_qs(request.query, keep_blank_values=True)
        order, centre, slots = await handovers.free_slots(
            request.params["id"],
            request.customer,
            date_param(query, "from"),
            days_param(query, MAX_DAYS),
        )
        listed = SlotsOut(
            order.launch, centre.id, order.sku, centre.timezone, centre.handover_minutes,
            centre.handover_bays, [slot_out(slot, free) for slot, free in slots],
        )  # fmt: skip
        return json_response(200, encode(listed))

    async def book(request: Request) -> Response:
        body = decode(request.body, HandoverRequest)
        booking, replayed = await handovers.book(request.params["id"], request.customer, body.start)
        return out(booking, 200 if replayed else 201)

    async def get_one(request: Request) -> Response:
        return out(scheduled(request))

    async def cancel(request: Request) -> Response:
        return out(await handovers.cancel(request.params["id"], request.customer))

    async def calendar(request: Request) -> Response:
        booking = scheduled(request)
        store = services.stores.get(booking.store)
        return Response(200, calendar_of([(booking, store)], clock(), "Handover"), CALENDAR)

    async def mark(request: Request) -> Response:
        target = STAFF_MARKS.get(request.params["mark"])
        if target is None:
            raise HttpError("not_found", "the marks are done, no-show and cancel", "mark")
        changed = await services.bookings.by_staff(
            request.params["booking"],
            request.params["store"],
            request.caller.key or "admin",
            target,
            BookingKind.HANDOVER,
        )
        return out(changed)

    by_order = "/api/v1/orders/{id}"
    errors = ("not_found", "unauthenticated", "forbidden")
    return [
        Route(
            method="PUT",
            path=f"{by_order}/delivery-centre",
            handler=choose_centre,
            name="choose_delivery_centre",
            auth=("customer",),
            summary="Choose or change where the car is collected, until its handover is booked;"
            " the promise adds the centre's logistics weeks",
            body=CentreRequest,
            response=OrderOut,
            errors=("invalid_body", "validation", "booking_closed", "cancelled", *errors),
        ),
        Route(
            method="GET",
            path=f"{by_order}/handover-slots",
            handler=free_slots,
            name="handover_slots",
            auth=("customer",),
            summary="The delivery centre's handover slots once the car is built, from the"
            " first day it can be there, each with its free bays",
            response=SlotsOut,
            errors=("validation", "not_ready", *errors),
            query=(
                QueryParam(
                    "from",
                    False,
                    "the first local date, YYYY-MM-DD",
                    {"type": "string", "format": "date"},
                ),
                QueryParam(
                    "days",
                    False,
                    f"how many days (1 to {MAX_DAYS}, 14 if absent)",
                    {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
                ),
            ),
        ),
        Route(
            method="POST",
            path=f"{by_order}/handover",
            handler=book,
            name="book_handover",
            auth=("customer",),
            summary="Book the car's handover in a slot at its delivery centre, or move it"
            " there; the same slot again answers 200",
            body=HandoverRequest,
            response=BookingOut,
            status=201,
            repeat_status=200,
            errors=(
                "invalid_body",
                "validation",
                "not_ready",
                "sold_out",
                "booking_closed",
                *errors,
            ),
        ),
        Route(
            method="GET",
            path=f"{by_order}/handover",
            handler=get_one,
            name="get_handover",
            auth=("customer",),
            summary="The order's handover, booked and not given up",
            response=BookingOut,
            errors=errors,
        ),
        Route(
            method="POST",
            path=f"{by_order}/handover/cancel",
            handler=cancel,
            name="cancel_handover",
            auth=("customer",),
            summary="Give up the handover slot (the centre may then change again)",
            response=BookingOut,
            errors=("booking_closed", *errors),
        ),
        Route(
            method="GET",
            path=f"{by_order}/handover/calendar.ics",
            handler=calendar,
            name="handover_calendar",
            auth=("customer",),
            summary="The handover as a calendar entry (iCalendar), in the centre's time zone",
            content_type=CALENDAR,
            errors=errors,
        ),
        Route(
            method="POST",
            path="/api/v1/stores/{store}/handovers/{booking}/{mark}",
            handler=mark,
            name="mark_handover",
            auth=("store", "admin", "operator"),
            summary="The centre's staff mark a handover done or a no-show once it has begun,"
            " or cancel it",
            response=BookingOut,
            errors=("booking_closed", *errors),
        ),
    ]
