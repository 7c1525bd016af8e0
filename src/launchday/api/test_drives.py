"""Test drives over HTTP: a store's free slots for a variant, a buyer's hold, confirm,
move and cancel, the booking's calendar entry; the store's day for its staff, with
its calendar feed, and their marks (done, no-show, cancelled). docs/stores.md."""

from __future__ import annotations

from urllib.parse import parse_qs

import msgspec

from launchday.api.bookings_wire import (
    BookingOut,
    BookingsOut,
    HoldRequest,
    RescheduleRequest,
    SlotsOut,
    booking_out,
    slot_out,
)
from launchday.api.calendar_files import calendar_of
from launchday.api.context import ApiContext
from launchday.api.query_params import date_param, days_param
from launchday.domain.booking import Booking, BookingStatus
from launchday.domain.slots import MAX_DAYS
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import (
    QueryParam,
    Request,
    Response,
    Role,
    Route,
    json_response,
)

_encode = msgspec.json.Encoder().encode
STAFF: tuple[Role, ...] = ("store", "admin", "operator", "support")
CALENDAR = "text/calendar; charset=utf-8"
STAFF_MARKS = {
    "done": BookingStatus.DONE,
    "no-show": BookingStatus.NO_SHOW,
    "cancel": BookingStatus.CANCELLED,
}


def routes(ctx: ApiContext) -> list[Route]:
    bookings, stores, clock = ctx.services.bookings, ctx.services.stores, ctx.services.clock

    def out(booking: Booking, status: int = 200) -> Response:
        return json_response(status, _encode(booking_out(booking, clock())))

    async def free_slots(request: Request) -> Response:
        query = parse_qs(request.query, keep_blank_values=True)
        sku = query.get("sku", [""])[-1]
        if not sku:
            raise HttpError("validation", "sku names the variant to drive", "sku")
        slug, store_id = request.params["slug"], request.params["store"]
        store, slots = bookings.free_slots(
            slug, store_id, sku, date_param(query, "from"), days_param(query, MAX_DAYS)
        )
        listed = SlotsOut(
            slug, store.id, sku, store.timezone, store.test_drive_minutes,
            store.demo_cars_of(sku), [slot_out(slot, free) for slot, free in slots],
        )  # fmt: skip
        return json_response(200, _encode(listed))

    async def hold(request: Request) -> Response:
        body = decode(request.body, HoldRequest)
        booking, replayed = await bookings.hold(
            request.params["slug"], request.customer, body.store, body.sku, body.start
        )
        return out(booking, 200 if replayed else 201)

    async def mine(request: Request) -> Response:
        found = bookings.of_customer(request.params["slug"], request.customer)
        now = clock()
        return json_response(200, _encode(BookingsOut([booking_out(b, now) for b in found])))

    async def get_one(request: Request) -> Response:
        return out(_visible(request))

    def _visible(request: Request) -> Booking:
        """The booking, if the caller may see it: its buyer, staff of its store, or a
        key of the launch's people; NotFound otherwise, never a hint."""
        caller = request.caller
        booking = bookings.get(request.params["id"], caller.customer)
        if caller.customer is None and (
            not caller.may_act_at(booking.store) or not caller.may_act_on(booking.launch)
        ):
            raise HttpError("not_found", f"no test drive {booking.id!r}", "id")
        return booking

    async def calendar(request: Request) -> Response:
        booking = _visible(request)
        body = calendar_of([(booking, stores.get(booking.store))], clock(), "Test drive")
        return Response(200, body, CALENDAR)

    async def confirm(request: Request) -> Response:
        return out(
            await bookings.by_buyer(request.params["id"], request.customer, BookingStatus.CONFIRMED)
        )

    async def cancel(request: Request) -> Response:
        return out(
            await bookings.by_buyer(request.params["id"], request.customer, BookingStatus.CANCELLED)
        )

    async def reschedule(request: Request) -> Response:
        body = decode(request.body, RescheduleRequest)
        moved = await bookings.reschedule(
            request.params["id"], request.customer, body.start, body.store
        )
        return out(moved)

    def _store_day(request: Request) -> list[Booking]:
        query = parse_qs(request.query, keep_blank_values=True)
        store = stores.get(request.params["store"])
        day = date_param(query, "date") or clock().astimezone(store.zone).date()
        launch = query.get("launch", [None])[-1] or request.caller.launch
        if not request.caller.may_act_on(launch or ""):
            raise HttpError(
                "forbidden", f"this key acts on the launch {request.caller.launch!r} only"
            )
        return bookings.of_store_day(store.id, day, launch)

    async def store_day(request: Request) -> Response:
        now = clock()
        found = _store_day(request)
        return json_response(200, _encode(BookingsOut([booking_out(b, now) for b in found])))

    async def store_feed(request: Request) -> Response:
        store = stores.get(request.params["store"])
        found = [(b, store) for b in _store_day(request)]
        body = calendar_of(found, clock(), f"{store.name}: test drives")
        return Response(200, body, CALENDAR)

    async def mark(request: Request) -> Response:
        target = STAFF_MARKS.get(request.params["mark"])
        if target is None:
            raise HttpError("not_found", "the marks are done, no-show and cancel", "mark")
        staff = request.caller.key or "admin"
        changed = await bookings.by_staff(
            request.params["id"], request.params["store"], staff, target
        )
        return out(changed)

    by_id = "/api/v1/test-drives/{id}"
    day_query = (
        QueryParam("date", False, "the store's local date, YYYY-MM-DD (today if absent)",
                   {"type": "string", "format": "date"}),
        QueryParam("launch", False, "only this launch's bookings", {"type": "string"}),
    )  # fmt: skip
    buyer_errors = ("not_found", "booking_closed", "unauthenticated", "forbidden")
    return [
        Route(
            method="GET",
            path="/api/v1/launches/{slug}/stores/{store}/test-drive-slots",
            handler=free_slots,
            name="test_drive_slots",
            auth="anyone",
            summary="A store's slots for a test drive of a variant, each with its free places",
            response=SlotsOut,
            errors=("not_found", "validation"),
            query=(
                QueryParam("sku", True, "the variant to drive", {"type": "string"}),
                QueryParam(
                    "from",
                    False,
                    "the first local date, YYYY-MM-DD (today if absent)",
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
            path="/api/v1/launches/{slug}/test-drives",
            handler=hold,
            name="hold_test_drive",
            auth=("customer",),
            summary="Hold a slot for a test drive (confirm it within the launch's hold time);"
            " the same hold again answers 200 with the booking",
            body=HoldRequest,
            response=BookingOut,
            status=201,
            repeat_status=200,
            errors=(
                "invalid_body",
                "validation",
                "not_found",
                "not_open",
                "sold_out",
                "limit_reached",
                "unauthenticated",
                "forbidden",
            ),
        ),
        Route(
            method="GET",
            path="/api/v1/launches/{slug}/test-drives",
            handler=mine,
            name="my_test_drives",
            auth=("customer",),
            summary="The buyer's own test drives in the launch",
            response=BookingsOut,
            errors=("not_found", "unauthenticated", "forbidden"),
        ),
        Route(
            method="GET",
            path=by_id,
            handler=get_one,
            name="get_test_drive",
            auth=("customer", *STAFF),
            summary="A test drive: its buyer's, or its store's staff's",
            response=BookingOut,
            errors=("not_found", "unauthenticated", "forbidden"),
        ),
        Route(
            method="GET",
            path=f"{by_id}/calendar.ics",
            handler=calendar,
            name="test_drive_calendar",
            auth=("customer", *STAFF),
            summary="The test drive as a calendar entry (iCalendar), in the store's time zone",
            content_type=CALENDAR,
            errors=("not_found", "unauthenticated", "forbidden"),
        ),
        Route(
            method="POST",
            path=f"{by_id}/confirm",
            handler=confirm,
            name="confirm_test_drive",
            auth=("customer",),
            summary="Confirm a held test drive before its hold lapses",
            response=BookingOut,
            errors=buyer_errors,
        ),
        Route(
            method="POST",
            path=f"{by_id}/cancel",
            handler=cancel,
            name="cancel_test_drive",
            auth=("customer",),
            summary="Cancel a test drive before it begins: its place is free at once",
            response=BookingOut,
            errors=buyer_errors,
        ),
        Route(
            method="POST",
            path=f"{by_id}/reschedule",
            handler=reschedule,
            name="reschedule_test_drive",
            auth=("customer",),
            summary="Move a test drive to another slot (of its store, or another store)",
            body=RescheduleRequest,
            response=BookingOut,
            errors=("invalid_body", "validation", "sold_out", *buyer_errors),
        ),
        Route(
            method="GET",
            path="/api/v1/stores/{store}/test-drives",
            handler=store_day,
            name="store_test_drives",
            auth=STAFF,
            summary="The store's test drives of a day (its staff's, or the launch's people's)",
            response=BookingsOut,
            errors=("not_found", "validation", "unauthenticated", "forbidden"),
            query=day_query,
        ),
        Route(
            method="GET",
            path="/api/v1/stores/{store}/calendar.ics",
            handler=store_feed,
            name="store_calendar",
            auth=STAFF,
            summary="The store's test drives of a day as a calendar feed (iCalendar)",
            content_type=CALENDAR,
            errors=("not_found", "validation", "unauthenticated", "forbidden"),
            query=day_query,
        ),
        Route(
            method="POST",
            path="/api/v1/stores/{store}/test-drives/{id}/{mark}",
            handler=mark,
            name="mark_test_drive",
            auth=("store", "admin", "operator"),
            summary="Staff mark a test drive done or a no-show once it has begun, or cancel it",
            response=BookingOut,
            errors=("not_found", "booking_closed", "unauthenticated", "forbidden"),
        ),
    ]
