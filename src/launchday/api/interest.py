"""`/api/v1/launches/{slug}/interest`: a customer registers interest; the admin imports."""

from __future__ import annotations

from datetime import datetime

from launchday.api.context import ApiContext, encode
from launchday.api.views import interest_out
from launchday.api.wire import (
    ImportRejection,
    ImportReport,
    InterestOut,
    InterestRecord,
    InterestRequest,
    profile_from_spec,
)
from launchday.domain.order import Profile
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import Request, Response, Route, json_response

# Registrations come from campaign pages by the hundred thousand: a bigger body than orders.
MAX_IMPORT_BYTES = 16 * 1024 * 1024
MAX_REJECTIONS_SHOWN = 1000


def routes(ctx: ApiContext) -> list[Route]:
    registry = ctx.services.interest

    async def register_interest(request: Request) -> Response:
        body = decode(request.body, InterestRequest) if request.body.strip() else InterestRequest()
        profile = profile_from_spec(body.profile) or Profile()
        interest, created = await registry.register(
            request.params["slug"], request.customer, profile
        )
        return json_response(201 if created else 200, encode(interest_out(interest)))

    async def import_interest(request: Request) -> Response:
        slug = request.params["slug"]
        ctx.services.launches.get(slug)
        records: list[tuple[str, datetime, Profile]] = []
        rejected: list[ImportRejection] = []
        lines = 0
        for number, raw in enumerate(request.body.split(b"\n"), start=1):
            if not raw.strip():
                continue
            lines += 1
            try:
                record = decode(raw, InterestRecord)
            except HttpError as error:
                rejected.append(ImportRejection(number, error.code, error.message, error.field))
                continue
            profile = profile_from_spec(record.profile) or Profile()
            records.append((record.customer, record.registered_at, profile))
        new = await registry.import_all(slug, records) if records else 0
        report = ImportReport(
            lines=lines,
            imported=len(records),
            new=new,
            updated=len(records) - new,
            rejected_count=len(rejected),
            rejected=rejected[:MAX_REJECTIONS_SHOWN],
        )
        return json_response(200, encode(report))

    return [
        Route(
            method="POST",
            path="/api/v1/launches/{slug}/interest",
            handler=register_interest,
            name="register_interest",
            auth=("customer",),
            summary="Register interest with a profile (idempotent per customer: 201, then 200)",
            body=InterestRequest,
            response=InterestOut,
            status=201,
            repeat_status=200,
            errors=(
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
            method="POST",
            path="/api/v1/launches/{slug}/interest/import",
            handler=import_interest,
            name="import_interest",
            auth=("admin",),
            summary="Bulk-import registrations with their own times and profiles. The body"
            " is NDJSON, one InterestRecord per line, up to 16 MiB; valid lines are"
            " imported, each invalid one is reported with its line number",
            body=InterestRecord,
            response=ImportReport,
            errors=(
                "unauthenticated",
                "forbidden",
                "not_found",
                "too_large",
                "overloaded",
                "unavailable",
            ),
            body_content_type="application/x-ndjson",
            max_body=MAX_IMPORT_BYTES,
        ),
    ]
