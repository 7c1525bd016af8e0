"""`GET /api/v1/launches/{slug}/report`: the launch report, read off the event loop."""

from __future__ import annotations

from urllib.parse import parse_qs

from launchday.analytics.build import build_report
from launchday.analytics.report import Report
from launchday.api.context import ApiContext, encode
from launchday.http.routing import Request, Response, Route, json_response


def routes(ctx: ApiContext) -> list[Route]:
    async def report(request: Request) -> Response:
        slug = request.params["slug"]
        compare = parse_qs(request.query).get("compare", [None])[-1]
        now = ctx.clock()
        # Promises given since the last re-promise are kept first, so the report counts them.
        await ctx.services.deliveries.repromise(slug)
        # On the standby when there is one: it has replayed every commit acknowledged
        # before this line (the repromise's too) before the report reads it.
        built = await ctx.services.store.report_in_thread(
            lambda reads: build_report(reads, slug, compare=compare, now=now)
        )
        return json_response(200, encode(built))

    return [
        Route(
            method="GET",
            path="/api/v1/launches/{slug}/report",
            handler=report,
            name="launch_report",
            auth=("admin", "operator", "analyst"),
            summary="The launch report (launch time): totals, milestones, per-second series,"
            " interest and buyer composition; ?compare=OTHER adds ratios against another"
            " launch aligned on time since opening",
            response=Report,
            errors=("unauthenticated", "forbidden", "not_found"),
        ),
    ]
