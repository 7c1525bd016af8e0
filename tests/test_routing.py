"""The router: a launch's own paths are matched once and then answered as kept; what
it answers is the same as matching afresh, for any launch and any method."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from launchday.http.routing import LAUNCH_PATHS_KEPT, Request, Response, Route, Router


async def _nothing(request: Request) -> Response:
    raise AssertionError("never called")


def route(method: str, path: str) -> Route:
    return Route(method, path, _nothing, f"{method} {path}", "", ("customer",))


ROUTES = [
    route("POST", "/api/v1/launches/{slug}/orders"),
    route("GET", "/api/v1/launches/{slug}/orders"),
    route("GET", "/api/v1/launches/{slug}/delivery"),
    route("POST", "/api/v1/orders/{id}/lock"),
    route("GET", "/api/v1/orders/{id}"),
    route("GET", "/api/v1/time"),
]
slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
paths = st.one_of(
    slugs.map(lambda slug: f"/api/v1/launches/{slug}/orders"),
    slugs.map(lambda slug: f"/api/v1/launches/{slug}/delivery"),
    slugs.map(lambda slug: f"/api/v1/orders/{slug}/lock"),
    st.just("/api/v1/launches/UPPER/orders"),  # not a slug: no route
    st.just("/api/v1/time"),
)


@given(st.lists(st.tuples(paths, st.sampled_from(["GET", "POST", "HEAD", "PUT"])), max_size=30))
def test_a_path_matched_again_is_answered_as_when_first_matched(
    asked: list[tuple[str, str]],
) -> None:
    kept = Router(ROUTES)
    for path, method in asked:
        first = kept.match(method, path)
        fresh = Router(ROUTES).match(method, path)
        again = kept.match(method, path)
        for found in (first, again):
            assert (found.route, found.params, found.allowed) == (
                fresh.route,
                fresh.params,
                fresh.allowed,
            )


def test_the_params_a_handler_is_given_are_its_own() -> None:
    router = Router(ROUTES)
    first = router.match("POST", "/api/v1/launches/yu7/orders")
    first.params["slug"] = "changed by a handler"
    again = router.match("POST", "/api/v1/launches/yu7/orders")
    assert again.params == {"slug": "yu7"}
    assert again.route is ROUTES[0]
    other = router.match("GET", "/api/v1/launches/su7/orders")
    assert (other.route, other.params) == (ROUTES[1], {"slug": "su7"})
    assert router.match("DELETE", "/api/v1/launches/yu7/orders").allowed == ("GET", "POST")


def test_launch_paths_kept_are_bounded() -> None:
    router = Router(ROUTES)
    for n in range(3 * LAUNCH_PATHS_KEPT):
        found = router.match("GET", f"/api/v1/launches/launch-{n}/delivery")
        assert found.params == {"slug": f"launch-{n}"}
    assert len(router._launch_paths) <= LAUNCH_PATHS_KEPT
    # Paths naming an order are matched afresh each time, never kept.
    router.match("POST", "/api/v1/orders/abc/lock")
    assert "/api/v1/orders/abc/lock" not in router._launch_paths
