"""`/api/v1/launches`: create a launch (admin), list them, read one with its counts."""

from __future__ import annotations

from launchday.api.context import ApiContext, encode
from launchday.api.views import launch_out
from launchday.api.wire import LaunchList, LaunchOut, LaunchSpec, LaunchSummary, launch_from_spec
from launchday.domain.clock import rfc3339
from launchday.http.bodies import decode
from launchday.http.routing import Request, Response, Route, json_response


def routes(ctx: ApiContext) -> list[Route]:
    launches = ctx.services.launches

    async def create_launch(request: Request) -> Response:
        launch = launch_from_spec(decode(request.body, LaunchSpec))
        ctx.services.payments.check_launch(launch)
        launch = await launches.create(launch)
        state = launches.state(launch.slug)
        location = {"Location": f"/api/v1/launches/{launch.slug}"}
        return json_response(201, encode(launch_out(state)), location)

    async def list_launches(request: Request) -> Response:
        summaries = [
            LaunchSummary(launch.slug, launch.name, rfc3339(launch.opens_at))
            for launch in launches.all()
        ]
        return json_response(200, encode(LaunchList(summaries)))

    async def get_launch(request: Request) -> Response:
        return json_response(200, encode(launch_out(launches.state(request.params["slug"]))))

    return [
        Route(
            method="POST",
            path="/api/v1/launches",
            handler=create_launch,
            name="create_launch",
            auth=("admin",),
            summary="Create a launch",
            body=LaunchSpec,
            response=LaunchOut,
            status=201,
            errors=(
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
            method="GET",
            path="/api/v1/launches",
            handler=list_launches,
            name="list_launches",
            auth="anyone",
            summary="List launches, newest first",
            response=LaunchList,
        ),
        Route(
            method="GET",
            path="/api/v1/launches/{slug}",
            handler=get_launch,
            name="get_launch",
            auth="anyone",
            summary="A launch, its variants and live counts",
            response=LaunchOut,
            errors=("not_found",),
        ),
    ]
