"""The live launch dashboard: the launch list, the wall-screen page, its event stream
and its static files. Plain HTML, CSS and JavaScript: no build step, nothing fetched
from anywhere but this server, so it works on a launch-night network that has none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from launchday.domain.clock import rfc3339
from launchday.http.routing import Request, Response, Route
from launchday.services import Services
from launchday.web.live import LiveHub, variants_live

WEB = Path(__file__).parent
STATIC = WEB / "static"
TEMPLATES = WEB / "templates"

CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
# Everything the pages load comes from this server; the stream is same-origin too.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# EventSource reconnects by itself; `retry` says how soon (milliseconds).
SSE_PREAMBLE = b"retry: 2000\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(frozen=True, slots=True)
class StaticFile:
    name: str
    body: bytes
    content_type: str
    version: str  # a short hash of the body, for cache-busting URLs


def load_static(folder: Path = STATIC) -> dict[str, StaticFile]:
    """The files of `folder` with a known type, read once: only these names are served."""
    files = {}
    for path in sorted(folder.iterdir()):
        content_type = CONTENT_TYPES.get(path.suffix)
        if path.is_file() and content_type is not None:
            body = path.read_bytes()
            version = hashlib.blake2b(body, digest_size=5).hexdigest()
            files[path.name] = StaticFile(path.name, body, content_type, version)
    return files


def _grouped(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _when(at: datetime) -> str:
    """A time as people read it on a launch list: 22 Nov 2026, 15:00 UTC."""
    return f"{at.astimezone(UTC):%d %b %Y, %H:%M} UTC".lstrip("0")


class Dashboard:
    """The pages and the live stream, as routes of the app."""

    def __init__(self, services: Services, clock: Callable[[], datetime]) -> None:
        self.launches = services.launches
        self.clock = clock
        self.hub = LiveHub(services)
        self.static = load_static()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["grouped"] = _grouped
        self.templates.filters["when"] = _when
        self.templates.globals["asset"] = self.asset

    def asset(self, name: str) -> str:
        """The URL of a static file, versioned so that browsers never keep a stale one."""
        return f"/static/{name}?v={self.static[name].version}"

    def _page(self, template: str, **context: Any) -> Response:
        html = self.templates.get_template(template).render(**context)
        return Response(200, html.encode(), "text/html; charset=utf-8", dict(PAGE_HEADERS))

    # --- handlers --------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        now = self.clock()
        launches = []
        for launch in self.launches.all():
            state = self.launches.state(launch.slug)
            launches.append(
                {
                    "slug": launch.slug,
                    "name": launch.name,
                    "opens_at": rfc3339(launch.opens_at),
                    "opens": launch.opens_at,
                    "opened": now >= launch.opens_at,
                    "rehearsal": launch.time_scale != 1,
                    "time_scale": launch.time_scale,
                    "placed": sum(t.placed for t in state.variants.values()),
                    "variants": len(launch.variants),
                }
            )
        return self._page("index.html", launches=launches)

    async def launch_page(self, request: Request) -> Response:
        state = self.launches.state(request.params["slug"])
        launch = state.launch
        variants = variants_live(state)
        leads = {v.sku: v.lead_weeks for v in launch.variants}
        prices = {v.sku: v.price for v in launch.variants}
        return self._page(
            "launch.html",
            launch=launch,
            opens_at=rfc3339(launch.opens_at),
            opened=state.is_open,
            placed=sum(v.placed for v in variants),
            paid=(
                None
                if launch.payments is None
                else self.launches.store.reads.payment_counts(launch.slug)[0]
            ),
            live=sum(v.live for v in variants),
            cancelled=sum(v.cancelled for v in variants),
            variants=variants,
            lead_weeks=leads,
            prices=prices,
            interest=state.interest,
            live_url=f"/launches/{launch.slug}/live",
        )

    async def live(self, request: Request) -> Response:
        feed = self.hub.feed(request.params["slug"])  # NotFound before the stream starts
        return Response(
            200, SSE_PREAMBLE, "text/event-stream", dict(SSE_HEADERS), stream=feed.watch()
        )

    def _static_handler(self, file: StaticFile) -> Callable[[Request], Any]:
        async def serve(request: Request) -> Response:
            headers = {
                "Cache-Control": "public, max-age=86400",
                "ETag": f'"{file.version}"',
                "X-Content-Type-Options": "nosniff",
            }
            if request.headers.get("if-none-match") == headers["ETag"]:
                return Response(304, b"", file.content_type, headers)
            return Response(200, file.body, file.content_type, headers)

        return serve

    # --- the route table -------------------------------------------------------------

    def routes(self) -> list[Route]:
        """`GET /`, the dashboard, its event stream, and one route per static file.

        A route per file rather than `/static/{name}`: a name that is not in the
        folder matches no route at all, so no path can reach outside it.
        """
        routes = [
            Route(
                "GET",
                "/",
                self.index,
                "dashboard_index",
                "The launches, each linked to its live dashboard (HTML)",
                auth="anyone",
                content_type="text/html",
            ),
            Route(
                "GET",
                "/launches/{slug}",
                self.launch_page,
                "dashboard",
                "The live launch dashboard for a wall screen or a phone (HTML)",
                auth="anyone",
                errors=("not_found",),
                content_type="text/html",
            ),
            Route(
                "GET",
                "/launches/{slug}/live",
                self.live,
                "dashboard_live",
                "The dashboard's live figures as server-sent events: one `data:` event of"
                " JSON at once, then one a second (launchday.web.live.LiveEvent)",
                auth="anyone",
                errors=("not_found",),
                content_type="text/event-stream",
            ),
        ]
        for file in self.static.values():
            routes.append(
                Route(
                    "GET",
                    f"/static/{file.name}",
                    self._static_handler(file),
                    "static_" + "".join(c if c.isalnum() else "_" for c in file.name),
                    f"The dashboard's static file {file.name}",
                    auth="anyone",
                    content_type=file.content_type.split(";")[0],
                )
            )
        return routes
