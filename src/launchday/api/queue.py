"""The waiting room: a customer joins and reads a ticket; the admin reads and changes
the room's admission."""

from __future__ import annotations

import math

from launchday.api.context import ApiContext, encode
from launchday.api.views import admission_out, poll_after_seconds, ticket_out
from launchday.api.wire import AdmissionChange, AdmissionOut, TicketOut
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import Request, Response, Route, json_response


def routes(ctx: ApiContext) -> list[Route]:
    rooms, launches = ctx.services.waiting_rooms, ctx.services.launches

    def ticket_response(slug: str, ticket_id: str, customer: str, status: int = 200) -> Response:
        reading = rooms.read(slug, ticket_id, customer)
        poll = poll_after_seconds(reading.view, launches.get(slug), reading.at)
        body = ticket_out(slug, reading, poll)
        # Retry-After takes whole seconds; poll_after_seconds in the body is precise.
        headers = {"Retry-After": str(math.ceil(poll))} if poll is not None else None
        return json_response(status, encode(body), headers)

    async def join_queue(request: Request) -> Response:
        slug = request.params["slug"]
        ticket, created = await rooms.join(slug, request.customer)
        await rooms.settled(slug)
        return ticket_response(slug, ticket.ticket, request.customer, 201 if created else 200)

    async def read_ticket(request: Request) -> Response:
        slug = request.params["slug"]
        await rooms.settled(slug)
        return ticket_response(slug, request.params["ticket"], request.customer)

    async def change_admission(request: Request) -> Response:
        slug = request.params["slug"]
        change = decode(request.body, AdmissionChange)
        await rooms.settled(slug)
        snapshot = await rooms.change(slug, change.rate_per_second, change.paused)
        return json_response(200, encode(admission_out(slug, snapshot)))

    async def read_admission(request: Request) -> Response:
        slug = request.params["slug"]
        await rooms.settled(slug)
        snapshot = rooms.snapshot(slug)
        if snapshot is None:
            raise HttpError("not_found", f"launch {slug!r} has no waiting room", "slug")
        return json_response(200, encode(admission_out(slug, snapshot)))

    return [
        Route(
            method="POST",
            path="/api/v1/launches/{slug}/queue",
            handler=join_queue,
            name="join_queue",
            auth=("customer",),
            summary="Join the waiting room: the same customer always gets the same ticket"
            " (201 the first time, then 200). A ticket whose admission lapsed rejoins:"
            " within the launch's rejoin grace it keeps its place and is admitted again at"
            " once (once per place), else it goes to the back of the queue",
            response=TicketOut,
            status=201,
            repeat_status=200,
            errors=("unauthenticated", "forbidden", "not_found", "overloaded", "unavailable"),
        ),
        Route(
            method="GET",
            path="/api/v1/launches/{slug}/queue/{ticket}",
            handler=read_ticket,
            name="read_ticket",
            auth=("customer",),
            summary="A ticket's state, position, people ahead and ETA; the admission token"
            " once admitted. Served from memory: poll it as advised by Retry-After",
            response=TicketOut,
            errors=("unauthenticated", "forbidden", "not_found"),
        ),
        Route(
            method="GET",
            path="/api/v1/launches/{slug}/admission",
            handler=read_admission,
            name="read_admission",
            auth=("admin", "operator", "analyst"),
            summary="The waiting room's rate, pause state and counts",
            response=AdmissionOut,
            errors=("unauthenticated", "forbidden", "not_found"),
        ),
        Route(
            method="POST",
            path="/api/v1/launches/{slug}/admission",
            handler=change_admission,
            name="change_admission",
            auth=("admin", "operator"),
            summary="Change the admission rate, pause or resume; in force at once",
            body=AdmissionChange,
            response=AdmissionOut,
            errors=(
                "invalid_body",
                "validation",
                "unauthenticated",
                "forbidden",
                "not_found",
                "overloaded",
                "unavailable",
            ),
        ),
    ]
