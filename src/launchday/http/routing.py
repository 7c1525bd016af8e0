"""Requests, responses and routes: what an endpoint declares (its auth too), and the
router that matches a request to it. The same routes generate the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

Role = Literal["customer", "admin", "operator", "analyst", "support", "store"]
"""A customer signed in with a token; the others hold an API key of that role."""
ROLES: tuple[Role, ...] = ("customer", "admin", "operator", "analyst", "support", "store")

Auth = Literal["anyone"] | tuple[Role, ...]
"""Who may call a route: anyone, or the callers of these roles. Every route declares
it; the app's router checks it before the handler runs."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a customer (`customer` set), the holder of an API key (`role`,
    the key's name, and the launch or store it is bound to), or anyone (neither)."""

    customer: str | None
    role: Role | None = None
    key: str | None = None
    launch: str | None = None
    store: str | None = None

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def may_act_on(self, launch: str) -> bool:
        """Whether a key bound to one launch (or none) may act on `launch`."""
        return self.launch is None or self.launch == launch

    def may_act_at(self, store: str) -> bool:
        """Whether a key bound to one store (or none) may act at `store`."""
        return self.store is None or self.store == store


ANYONE = Caller(None)


@dataclass(slots=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    query: str
    body: bytes = b""
    caller: Caller = ANYONE

    @property
    def customer(self) -> str:
        """The calling customer (for a route whose auth is `customer`)."""
        assert self.caller.customer is not None, "the route lets in only customers"
        return self.caller.customer


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] | None = None
    # A streamed body (server-sent events): sent chunk by chunk after `body`, until it
    # ends or the client goes away.
    stream: AsyncIterator[bytes] | None = None


Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Header:
    """A request header a route reads, documented with the JSON Schema its value must meet."""

    name: str
    required: bool
    description: str
    schema: dict[str, object]


@dataclass(frozen=True, slots=True)
class QueryParam:
    """A query parameter a route reads, documented with the JSON Schema of its value."""

    name: str
    required: bool
    description: str
    schema: dict[str, object]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: how it is matched, who may call it, and what it takes and gives."""

    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    auth: Auth
    body: type | None = None
    response: type | None = None
    status: int = 200
    # Another success status with the same body: 200 when a create finds its resource made.
    repeat_status: int | None = None
    errors: tuple[str, ...] = ()
    headers: tuple[Header, ...] = ()
    query: tuple[QueryParam, ...] = ()
    content_type: str = "application/json"
    body_content_type: str = "application/json"
    max_body: int | None = None  # None: the server's LAUNCHDAY_MAX_BODY_BYTES
    # A call that changes nothing whatever its method (a what-if posted to be worked
    # out): not a change for the audit.
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Match:
    route: Route | None
    params: dict[str, str]
    allowed: tuple[str, ...]  # methods the path accepts, for 405


# What a path parameter may look like; anything else is simply not a route (404).
PARAM_PATTERNS = {
    "slug": r"[a-z0-9][a-z0-9-]{0,63}",
    "id": r"[A-Za-z0-9_-]{1,64}",
    "ticket": r"[A-Za-z0-9_-]{1,64}",
    "booking": r"[A-Za-z0-9_-]{1,64}",
    "provider": r"[a-z0-9_-]{1,32}",
    "intent": r"[A-Za-z0-9_-]{1,128}",
    "store": r"[a-z0-9][a-z0-9-]{0,62}",
    "mark": r"done|no-show|cancel",
}


# Paths of launches kept as matched, before starting again: a few per launch.
LAUNCH_PATHS_KEPT = 1024


class Router:
    """Matches paths: static ones by dict, templated ones by compiled regex."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        by_path: dict[str, dict[str, Route]] = {}
        for route in routes:
            by_path.setdefault(route.path, {})[route.method] = route
        self._static = {path: table for path, table in by_path.items() if "{" not in path}
        # Templated paths by their number of slashes (a parameter never holds one), so a
        # request tries only the few patterns of its own depth.
        self._dynamic: dict[int, list[tuple[re.Pattern[str], dict[str, Route]]]] = {}
        for path, table in by_path.items():
            if "{" in path:
                self._dynamic.setdefault(path.count("/"), []).append(
                    (re.compile(_template_regex(path)), table)
                )
        # A launch's own paths (its slug their only parameter) as matched: every order of
        # a launch night goes to the same one. Paths naming an order or a ticket are not
        # kept (each is asked for a few times at most).
        self._launch_paths: dict[str, tuple[dict[str, Route], dict[str, str]]] = {}

    def match(self, method: str, path: str) -> Match:
        table = self._static.get(path)
        params: dict[str, str] = {}
        if table is None:
            seen = self._launch_paths.get(path)
            if seen is not None:
                table, params = seen[0], dict(seen[1])
        if table is None:
            for pattern, candidates in self._dynamic.get(path.count("/"), ()):
                found = pattern.fullmatch(path)
                if found:
                    table, params = candidates, found.groupdict()
                    if params.keys() == {"slug"}:
                        if len(self._launch_paths) >= LAUNCH_PATHS_KEPT:
                            self._launch_paths.clear()
                        self._launch_paths[path] = (table, dict(params))
                    break
        if table is None:
            return Match(None, {}, ())
        route = table.get(method) or (table.get("GET") if method == "HEAD" else None)
        return Match(route, params, tuple(sorted(table)))


def _template_regex(path: str) -> str:
    parts = re.split(r"\{(\w+)\}", path)
    # re.split alternates literal text and parameter names.
    return "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>{PARAM_PATTERNS.get(part, '[^/]+')})"
        for index, part in enumerate(parts)
    )


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(status, body, "application/json", headers)
