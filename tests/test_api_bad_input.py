"""Bad input gets a clear 4xx in the one error shape, never a 500, and touches nothing stored.

Each refusal is checked three ways: the status and code are the documented ones
(docs/api.md), the body is exactly `{"error": {"code", "message", "field"}}` with
`field` naming the field at fault, and a dump of every row of every table, read
from the SQLite file through a separate read-only connection, is the same after
the request as before it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import ADMIN_KEY, Api, Database, customer_token, launch_body

# The documented status of each error code (docs/api.md, "Errors").
STATUS = {
    "invalid_body": 400,
    "missing_header": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "admission_required": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "already_exists": 409,
    "not_open": 409,
    "sold_out": 409,
    "limit_reached": 409,
    "idempotency_conflict": 409,
    "locked": 409,
    "cancelled": 409,
    "too_large": 413,
    "validation": 422,
}
LIMIT = 64 * 1024
SLUG = "yu7-2025"
LAUNCHES = "/api/v1/launches"
INTEREST = f"/api/v1/launches/{SLUG}/interest"
ORDERS = f"/api/v1/launches/{SLUG}/orders"
ADMIN = f"Bearer {ADMIN_KEY}"
# A customer with no order and no registration: a request of theirs that slipped
# through would add a row, which the snapshot would show.
NEWCOMER = "c-new"
DELETE = object()  # an edit that removes the field


# --- helpers ---------------------------------------------------------------------------


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    return db.snapshot()


def assert_error_shape(response: httpx.Response) -> dict[str, Any]:
    """The body is exactly the one error shape, with a documented code for the status."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "field"}, body
    assert isinstance(error["message"], str), body
    assert error["message"], body
    assert error["field"] is None or isinstance(error["field"], str), body
    assert STATUS.get(error["code"]) == response.status_code, (response.status_code, body)
    return error


def assert_error(response: httpx.Response, code: str, field: str | None = None) -> None:
    """The response is the documented refusal `code`, naming `field`."""
    assert response.status_code == STATUS[code], response.text
    error = assert_error_shape(response)
    assert error["code"] == code, error
    assert error["field"] == field, error


def path_of(field: str) -> tuple[str | int, ...]:
    """The JSON path a field name stands for: 'variants[0].price' -> ('variants', 0, 'price')."""
    return tuple(int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", field))


def edited(body: Any, field: str, value: Any) -> Any:
    """A copy of `body` with `field` set to `value` (or removed, for DELETE)."""
    body = json.loads(json.dumps(body))
    *parents, last = path_of(field)
    target = body
    for step in parents:
        target = target[step]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return body


def launch_with(field: str | None = None, value: Any = None, **more: Any) -> bytes:
    """A new launch's body, valid but for `field` (and any top-level `more`)."""
    body = launch_body(slug="new-launch", **more)
    return json.dumps(edited(body, field, value) if field else body).encode()


VALID_ORDER = {"sku": "YU7-MAX", "profile": {"phone": "android", "region": "CN-SH"}}


def order_with(field: str | None = None, value: Any = None) -> bytes:
    """An order's body, valid but for `field`."""
    return json.dumps(edited(VALID_ORDER, field, value) if field else VALID_ORDER).encode()


def bearer(customer: str) -> str:
    return f"Bearer {customer_token(customer)}"


@dataclass(frozen=True)
class World:
    """A launch with a reserved, a locked and a cancelled order and a registration."""

    api: Api
    db: Database
    reserved: str
    locked: str
    cancelled: str

    def refused(
        self, method: str, path: str, code: str, field: str | None = None, **kw: Any
    ) -> httpx.Response:
        """Send a request; check it is refused as documented and that nothing changed."""
        before = snapshot(self.db)
        response = self.api.request(method, path, **kw)
        assert_error(response, code, field)
        assert snapshot(self.db) == before, "a refused request changed stored data"
        return response


@pytest.fixture
def world(api: Api, database: Database) -> World:
    api.create_launch()
    reserved = api.place("c-1")
    locked = api.place("c-2", "YU7-LTD")  # a zero-hour window: locked at once
    cancelled = api.place("c-3")
    for placed in (reserved, locked, cancelled):
        assert placed.status_code == 201, placed.text
    assert locked.json()["status"] == "locked"
    cancelled_id = cancelled.json()["id"]
    done = api.post(f"/api/v1/orders/{cancelled_id}/cancel", headers=api.as_customer("c-3"))
    assert done.status_code == 200, done.text
    interest = api.post(
        INTEREST, json={"profile": {"phone": "ios"}}, headers=api.as_customer("c-1")
    )
    assert interest.status_code == 201, interest.text
    assert snapshot(database)["orders"], "the fixture should have stored orders"
    return World(api, database, reserved.json()["id"], locked.json()["id"], cancelled_id)


def raw(id: str, body: bytes, code: str, field: str | None = None) -> Any:
    """A case of a body as bytes."""
    return pytest.param(body, code, field, id=id)


# --- POST /api/v1/launches ---------------------------------------------------------------


def name_as(raw: bytes) -> bytes:
    """A new launch's body with these raw bytes inside the JSON string of its name."""
    return launch_with("name", "\x00").replace(b"\\u0000", raw)


def time_scale_as(literal: bytes) -> bytes:
    """A new launch's body with this literal as its time_scale."""
    return launch_with().replace(b'"time_scale": 1', b'"time_scale": ' + literal)


MANY_VARIANTS = [{"sku": f"S{i}", "name": "n", "price": 1} for i in range(101)]


def bad_launch(id: str, field: str, value: Any, code: str = "validation") -> Any:
    """A case of a launch valid but for `field`, refused naming that field."""
    return pytest.param(launch_with(field, value), code, field, id=id)


LAUNCH_CASES = [
    # Not JSON, or not the JSON of an object.
    raw("empty body", b"", "invalid_body"),
    raw("whitespace body", b"  \n ", "invalid_body"),
    raw("truncated JSON", b'{"slug": "new-launch", ', "invalid_body"),
    raw("unquoted keys", b"{slug: 1}", "invalid_body"),
    raw("single quotes", b"{'slug': 'new-launch'}", "invalid_body"),
    raw("trailing garbage", launch_with() + b" x", "invalid_body"),
    raw("two documents", launch_with() + launch_with(), "invalid_body"),
    raw("NaN literal", time_scale_as(b"NaN"), "invalid_body"),
    raw("byte order mark", b"\xef\xbb\xbf" + launch_with(), "invalid_body"),
    raw("non-UTF-8 body", b"\xff\xfe\x00{\x00}", "invalid_body"),
    raw("non-UTF-8 in a string", name_as(b"\xff\xfe"), "invalid_body"),
    raw("UTF-8 of a surrogate", name_as(b"\xed\xa0\x80"), "invalid_body"),
    raw("overlong UTF-8", name_as(b"\xc0\xaf"), "invalid_body"),
    raw("JSON null", b"null", "validation"),
    raw("JSON array", b"[]", "validation"),
    raw("JSON string", b'"new-launch"', "validation"),
    raw("JSON number", b"42", "validation"),
    raw("deeply nested arrays", b"[" * 20_000 + b"]" * 20_000, "validation"),
    # Missing and unknown fields.
    raw("empty object", b"{}", "validation", "slug"),
    bad_launch("missing slug", "slug", DELETE),
    bad_launch("missing opens_at", "opens_at", DELETE),
    bad_launch("missing deposit", "deposit", DELETE),
    bad_launch("missing deposit amount", "deposit.amount", DELETE),
    bad_launch("missing variant price", "variants[0].price", DELETE),
    bad_launch("unknown field", "bogus", 1),
    bad_launch("unknown deposit field", "deposit.currency", "USD"),
    bad_launch("unknown variant field", "variants[0].colour", "red"),
    # Wrong types.
    bad_launch("slug is a number", "slug", 7),
    bad_launch("name is null", "name", None),
    bad_launch("currency is null", "currency", None),
    bad_launch("deposit is null", "deposit", None),
    bad_launch("deposit is a number", "deposit", 5000),
    bad_launch("variants is an object", "variants", {}),
    bad_launch("variant is a string", "variants[0]", "YU7-MAX"),
    bad_launch("price is a string", "variants[0].price", "329900"),
    bad_launch("price is a float", "variants[0].price", 329900.5),
    bad_launch("stock is a bool", "variants[1].stock", True),
    bad_launch("time_scale is a string", "time_scale", "60"),
    bad_launch("per_customer_limit is a float", "per_customer_limit", 1.5),
    bad_launch("opens_at is a number", "opens_at", 1_795_000_000),
    bad_launch("report_milestones is a string", "report_milestones", "10,30"),
    # Negative and absurd numbers.
    bad_launch("negative price", "variants[0].price", -1),
    bad_launch("absurd price", "variants[0].price", 10**30),
    bad_launch("negative stock", "variants[1].stock", -1),
    bad_launch("absurd stock", "variants[1].stock", 10**18),
    bad_launch("negative deposit", "deposit.amount", -5000),
    bad_launch("absurd deposit", "deposit.amount", 10**13),
    bad_launch("negative variant deposit", "variants[1].deposit.amount", -1),
    bad_launch("negative refundable_hours", "deposit.refundable_hours", -1),
    bad_launch("absurd refundable_hours", "deposit.refundable_hours", 1e9),
    bad_launch("zero per_customer_limit", "per_customer_limit", 0),
    bad_launch("negative per_customer_limit", "per_customer_limit", -1),
    bad_launch("absurd per_customer_limit", "per_customer_limit", 10**12),
    bad_launch("zero time_scale", "time_scale", 0),
    bad_launch("negative time_scale", "time_scale", -60),
    bad_launch("absurd time_scale", "time_scale", 1e12),
    raw("infinite time_scale", time_scale_as(b"1e999"), "validation", "time_scale"),
    raw(
        "infinite refundable_hours",
        launch_with().replace(b'"refundable_hours": 168', b'"refundable_hours": 1e999'),
        "validation",
        "deposit.refundable_hours",
    ),
    bad_launch("negative lead time", "variants[0].lead_weeks[0]", -1),
    bad_launch("lead time backwards", "variants[0].lead_weeks", [61, 39]),
    bad_launch("lead time of one number", "variants[0].lead_weeks", [39]),
    bad_launch("zero milestone", "report_milestones[1]", 0),
    bad_launch("too many milestones", "report_milestones", list(range(1, 102))),
    # Patterns and lengths.
    bad_launch("upper-case slug", "slug", "YU7-2025"),
    bad_launch("slug with a space", "slug", "yu7 2025"),
    bad_launch("slug with a slash", "slug", "yu7/2025"),
    bad_launch("slug starting with a hyphen", "slug", "-yu7"),
    bad_launch("slug with a newline", "slug", "yu7-2025\n"),
    bad_launch("empty slug", "slug", ""),
    bad_launch("over-long slug", "slug", "a" * 65),
    bad_launch("non-ASCII slug", "slug", "小米-yu7"),
    bad_launch("SKU with a space", "variants[0].sku", "YU7 MAX"),
    bad_launch("SKU with a NUL", "variants[0].sku", "YU7\x00MAX"),
    bad_launch("empty SKU", "variants[0].sku", ""),
    bad_launch("over-long SKU", "variants[0].sku", "A" * 65),
    bad_launch("SKU with a trailing newline", "variants[0].sku", "YU7-MAX\n"),
    bad_launch("lower-case currency", "currency", "cny"),
    bad_launch("two-letter currency", "currency", "CN"),
    bad_launch("symbol currency", "currency", "¥¥¥"),
    bad_launch("currency with a trailing newline", "currency", "CNY\n"),
    bad_launch("empty name", "name", ""),
    bad_launch("over-long name", "name", "n" * 201),
    bad_launch("no variants", "variants", []),
    bad_launch("too many variants", "variants", MANY_VARIANTS),
    # Times.
    bad_launch("naive opens_at", "opens_at", "2026-11-22T15:00:00"),
    bad_launch("naive interest_opens_at", "interest_opens_at", "2026-11-19T12:00:00"),
    bad_launch("date without a time", "opens_at", "2026-11-22"),
    bad_launch("words for a time", "opens_at", "tomorrow"),
    bad_launch("month 13", "opens_at", "2026-13-22T15:00:00Z"),
    bad_launch("interest opens after orders", "interest_opens_at", "2026-11-23T12:00:00Z"),
    # Instants with no UTC form: year 0 and year 10000 once the offset is applied.
    bad_launch("opens_at before year 1 in UTC", "opens_at", "0001-01-01T00:00:00+01:00"),
    bad_launch("opens_at after year 9999 in UTC", "opens_at", "9999-12-31T23:59:59-01:00"),
    bad_launch("interest before year 1 in UTC", "interest_opens_at", "0001-01-01T00:00:00+01:00"),
    # Rules over several fields, and conflicts.
    bad_launch("duplicate SKUs", "variants[1].sku", "YU7-MAX"),
    pytest.param(
        launch_with("admission", {"rate_per_second": 0}), "validation",
        "admission.rate_per_second", id="an admission rate of zero",
    ),
    bad_launch("a launch that exists already", "slug", SLUG, "already_exists"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "code", "field"), LAUNCH_CASES)
def test_create_launch_refuses_bad_input(
    world: World, body: bytes, code: str, field: str | None
) -> None:
    headers = {"Authorization": ADMIN, "Content-Type": "application/json"}
    world.refused("POST", LAUNCHES, code, field, content=body, headers=headers)


def test_the_launch_each_case_edits_is_valid(world: World) -> None:
    """So each case above tests its one fault."""
    created = world.api.post(LAUNCHES, content=launch_with(), headers={"Authorization": ADMIN})
    assert created.status_code == 201, created.text


def test_an_integer_written_as_a_whole_float_is_an_integer(world: World) -> None:
    """JSON Schema counts 2.0 as an integer, and so does the OpenAPI document: a client
    whose encoder writes every number with a point is served, and 2.5 is still refused."""
    body = json.loads(launch_with("per_customer_limit", 2.0))
    body["variants"][0]["lead_weeks"] = [40.0, 42.0]
    created = world.api.post(LAUNCHES, json=body, headers={"Authorization": ADMIN})
    assert created.status_code == 201, created.text
    # An optional integer too: a waiting room's rejoin grace (`int | null`).
    room = {**body, "slug": "room-launch"}
    room["admission"] = {"rate_per_second": 10, "rejoin_grace_seconds": 600.0}
    created = world.api.post(LAUNCHES, json=room, headers={"Authorization": ADMIN})
    assert created.status_code == 201, created.text
    assert created.json()["admission"]["rejoin_grace_seconds"] == 600
    stored = world.api.get(f"{LAUNCHES}/new-launch").json()
    assert stored["per_customer_limit"] == 2
    assert isinstance(stored["per_customer_limit"], int)
    assert stored["variants"][0]["lead_weeks"] == [40, 42]
    body["slug"], body["variants"][0]["lead_weeks"] = "other-launch", [40, 42.5]
    world.refused(
        "POST", LAUNCHES, "validation", "variants[0].lead_weeks[1]",
        json=body, headers={"Authorization": ADMIN},
    )  # fmt: skip
    # A whole float read before the body turns out not to be JSON (cut short, or not
    # UTF-8 further on) is refused as the body, not answered 500.
    body["slug"] = "cut-short"
    whole = json.dumps(body).encode()
    cut = whole[: whole.index(b"per_customer_limit") + 40]
    for broken in (cut, whole[:-1] + b"\xff}"):
        world.refused(
            "POST", LAUNCHES, "invalid_body", None,
            content=broken, headers={"Authorization": ADMIN, "Content-Type": "application/json"},
        )  # fmt: skip
    assert world.api.get(f"{LAUNCHES}/cut-short").status_code == 404


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "unauthenticated", id="no Authorization"),
        pytest.param("", "unauthenticated", id="empty Authorization"),
        pytest.param("Bearer", "unauthenticated", id="Bearer without a credential"),
        pytest.param("Bearer  ", "unauthenticated", id="Bearer and spaces"),
        pytest.param(f"Basic {ADMIN_KEY}", "unauthenticated", id="Basic scheme"),
        pytest.param(ADMIN_KEY, "unauthenticated", id="no scheme"),
        pytest.param("Bearer not-the-key", "unauthenticated", id="wrong key"),
        pytest.param(f"Bearer {ADMIN_KEY}x", "unauthenticated", id="key with a suffix"),
        pytest.param(f"Bearer {ADMIN_KEY[:-1]}", "unauthenticated", id="key one char short"),
        pytest.param("Bearer a.b.c", "unauthenticated", id="garbage token"),
        pytest.param(b"Bearer \xe9\xe9\xff", "unauthenticated", id="non-ASCII credential"),
        pytest.param("customer", "forbidden", id="a customer token"),
    ],
)
def test_create_launch_refuses_bad_credentials(
    world: World, authorization: str | bytes | None, code: str
) -> None:
    headers: dict[str, str | bytes] = {}
    if authorization == "customer":
        headers["Authorization"] = bearer("c-1")
    elif authorization is not None:
        headers["Authorization"] = authorization
    world.refused("POST", LAUNCHES, code, content=launch_with(), headers=headers)


# --- POST /api/v1/launches/{slug}/interest -----------------------------------------------


def bad_interest(id: str, field: str, value: Any) -> Any:
    body = json.dumps(edited({"profile": {"phone": "ios"}}, field, value)).encode()
    return pytest.param(body, "validation", field, id=id)


INTEREST_CASES = [
    raw("truncated JSON", b"{", "invalid_body"),
    raw("unquoted keys", b"{profile: {}}", "invalid_body"),
    raw("non-UTF-8 body", b"\xff\xfe", "invalid_body"),
    raw("non-UTF-8 in a string", b'{"profile": {"region": "CN-\xff"}}', "invalid_body"),
    raw("JSON array", b"[]", "validation"),
    raw("JSON null", b"null", "validation"),
    raw("JSON number", b"1", "validation"),
    bad_interest("profile is an array", "profile", []),
    bad_interest("profile is a string", "profile", "ios"),
    bad_interest("unknown phone", "profile.phone", "nokia"),
    bad_interest("phone is a number", "profile.phone", 1),
    bad_interest("bool is a string", "profile.new_to_brand", "yes"),
    bad_interest("bool is a number", "profile.first_car_with_brand", 1),
    bad_interest("empty region", "profile.region", ""),
    bad_interest("over-long region", "profile.region", "R" * 33),
    bad_interest("unknown field", "customer", "c-1"),
    bad_interest("unknown profile field", "profile.age", 30),
]


@pytest.mark.parametrize(("body", "code", "field"), INTEREST_CASES)
def test_register_interest_refuses_bad_bodies(
    world: World, body: bytes, code: str, field: str | None
) -> None:
    headers = {"Authorization": bearer(NEWCOMER)}
    world.refused("POST", INTEREST, code, field, content=body, headers=headers)


@pytest.mark.parametrize(
    ("path", "authorization", "code", "field"),
    [
        pytest.param(INTEREST, None, "unauthenticated", None, id="no Authorization"),
        pytest.param(INTEREST, "Bearer a.b.c", "unauthenticated", None, id="garbage token"),
        pytest.param(INTEREST, ADMIN, "forbidden", None, id="the admin key"),
        pytest.param(
            "/api/v1/launches/no-such-launch/interest", "customer", "not_found", "slug",
            id="unknown launch",
        ),
        pytest.param(
            "/api/v1/launches/No_Such/interest", "customer", "not_found", None,
            id="a slug that cannot be one",
        ),
    ],
)  # fmt: skip
def test_register_interest_refuses_bad_callers_and_launches(
    world: World, path: str, authorization: str | None, code: str, field: str | None
) -> None:
    headers = {}
    if authorization == "customer":
        headers["Authorization"] = bearer(NEWCOMER)
    elif authorization is not None:
        headers["Authorization"] = authorization
    world.refused("POST", path, code, field, json={"profile": {"phone": "ios"}}, headers=headers)


# --- POST /api/v1/launches/{slug}/orders -------------------------------------------------


def bad_order(id: str, field: str, value: Any, code: str = "validation") -> Any:
    return pytest.param(order_with(field, value), code, field, id=id)


ORDER_BODY_CASES = [
    raw("empty body", b"", "invalid_body"),
    raw("whitespace body", b"   ", "invalid_body"),
    raw("truncated JSON", b'{"sku": "YU7-MAX"', "invalid_body"),
    raw("trailing comma", b'{"sku": "YU7-MAX",}', "invalid_body"),
    raw("trailing garbage", order_with() + b"]", "invalid_body"),
    raw("non-UTF-8 body", b"\x80\x81\x82", "invalid_body"),
    raw("latin-1 body", b'{"sku": "YU7-MAX", "profile": {"region": "Z\xfcrich"}}', "invalid_body"),
    raw("non-UTF-8 in a string", order_with().replace(b"CN-SH", b"CN-\xc3\x28"), "invalid_body"),
    raw("JSON null", b"null", "validation"),
    raw("JSON array", b'["YU7-MAX"]', "validation"),
    raw("JSON string", b'"YU7-MAX"', "validation"),
    raw("JSON true", b"true", "validation"),
    raw("empty object", b"{}", "validation", "sku"),
    bad_order("missing SKU", "sku", DELETE),
    bad_order("SKU is null", "sku", None),
    bad_order("SKU is a number", "sku", 7),
    bad_order("SKU is a list", "sku", ["YU7-MAX"]),
    bad_order("SKU is an object", "sku", {"id": "YU7-MAX"}),
    bad_order("empty SKU", "sku", ""),
    bad_order("SKU with a space", "sku", "YU7 MAX"),
    bad_order("SKU with SQL", "sku", "YU7'; DROP TABLE orders; --"),
    bad_order("over-long SKU", "sku", "A" * 65),
    bad_order("SKU with a trailing newline", "sku", "YU7-MAX\n"),
    bad_order("unknown field quantity", "quantity", 2),
    bad_order("unknown field customer", "customer", "c-1"),
    bad_order("unknown field price", "price", 0),
    bad_order("profile is a list", "profile", []),
    bad_order("unknown phone", "profile.phone", "blackberry"),
    bad_order("over-long region", "profile.region", "R" * 33),
    bad_order("unknown profile field", "profile.income", 1),
    bad_order("unknown SKU", "sku", "YU9-MAX", "not_found"),
    bad_order("SKU in the wrong case", "sku", "yu7-max", "not_found"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "code", "field"), ORDER_BODY_CASES)
def test_place_order_refuses_bad_bodies(
    world: World, body: bytes, code: str, field: str | None
) -> None:
    headers = {"Authorization": bearer(NEWCOMER), "Idempotency-Key": "k-new"}
    world.refused("POST", ORDERS, code, field, content=body, headers=headers)


CUSTOMER = "customer"  # stands for a valid token of NEWCOMER
KEY = "Idempotency-Key"

ORDER_HEADER_CASES = [
    pytest.param({KEY: None}, "missing_header", KEY, id="missing Idempotency-Key"),
    pytest.param({KEY: ""}, "validation", KEY, id="empty Idempotency-Key"),
    pytest.param({KEY: "a b"}, "validation", KEY, id="Idempotency-Key with a space"),
    pytest.param({KEY: "k" * 256}, "validation", KEY, id="Idempotency-Key of 256 chars"),
    pytest.param({KEY: "k" * 10_000}, "validation", KEY, id="Idempotency-Key of 10000 chars"),
    pytest.param({KEY: "clé-1".encode()}, "validation", KEY, id="Idempotency-Key in UTF-8"),
    pytest.param({KEY: b"cl\xe9-1"}, "validation", KEY, id="Idempotency-Key in latin-1"),
    pytest.param({KEY: b"k\x7f1"}, "validation", KEY, id="Idempotency-Key with DEL"),
    pytest.param({"Authorization": None}, "unauthenticated", None, id="no Authorization"),
    pytest.param({"Authorization": ""}, "unauthenticated", None, id="empty Authorization"),
    pytest.param({"Authorization": "Basic YTpi"}, "unauthenticated", None, id="Basic scheme"),
    pytest.param({"Authorization": "Bearer nope"}, "unauthenticated", None, id="garbage token"),
    pytest.param({"Authorization": "Bearer a.b.c"}, "unauthenticated", None, id="3 garbage parts"),
    pytest.param({"Authorization": b"Bearer \xff.\x80"}, "unauthenticated", None, id="non-ASCII"),
    pytest.param({"Authorization": ADMIN}, "forbidden", None, id="the admin key"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "code", "field"), ORDER_HEADER_CASES)
def test_place_order_refuses_bad_headers(
    world: World, overrides: dict[str, str | bytes | None], code: str, field: str | None
) -> None:
    headers: dict[str, str | bytes | None] = {
        "Authorization": bearer(NEWCOMER),
        KEY: "k-new",
        **overrides,
    }
    sent = {name: value for name, value in headers.items() if value is not None}
    world.refused("POST", ORDERS, code, field, content=order_with(), headers=sent)


@pytest.mark.parametrize(
    ("slug", "field"),
    [
        pytest.param("no-such-launch", "slug", id="unknown launch"),
        pytest.param("No_Such", None, id="a slug that cannot be one"),
        pytest.param("a" * 65, None, id="over-long slug"),
    ],
)
def test_place_order_refuses_unknown_launches(world: World, slug: str, field: str | None) -> None:
    headers = {"Authorization": bearer(NEWCOMER), KEY: "k-new"}
    path = f"/api/v1/launches/{slug}/orders"
    world.refused("POST", path, "not_found", field, content=order_with(), headers=headers)


def test_the_order_each_case_edits_is_valid(world: World) -> None:
    """So each case above tests its one fault."""
    headers = {"Authorization": bearer(NEWCOMER), KEY: "k-new"}
    placed = world.api.post(ORDERS, content=order_with(), headers=headers)
    assert placed.status_code == 201, placed.text


def test_an_order_over_the_limit_changes_nothing(world: World) -> None:
    headers = {"Authorization": bearer("c-1"), KEY: "another-key"}
    world.refused("POST", ORDERS, "limit_reached", json={"sku": "YU7-MAX"}, headers=headers)


def test_a_key_reused_with_another_body_changes_nothing(world: World) -> None:
    headers = {"Authorization": bearer("c-1"), KEY: "c-1-YU7-MAX"}  # as Api.place sent it
    world.refused(
        "POST", ORDERS, "idempotency_conflict", KEY, json={"sku": "YU7-LTD"}, headers=headers
    )


# --- orders: get, history, lock, cancel --------------------------------------------------


ORDER_CALLS = [("GET", ""), ("GET", "/history"), ("POST", "/lock"), ("POST", "/cancel")]


@pytest.mark.parametrize(("method", "action"), ORDER_CALLS)
@pytest.mark.parametrize(
    ("order", "field"),
    [
        pytest.param("NoSuchOrder123", "id", id="unknown id"),
        pytest.param("a" * 64, "id", id="longest id"),
        pytest.param("a" * 65, None, id="over-long id"),
        pytest.param("a.b", None, id="id with a dot"),
        pytest.param("%00", None, id="id with a NUL"),
        pytest.param("%C3%A9", None, id="non-ASCII id"),
        pytest.param("..%2F..%2Flaunches", None, id="encoded path traversal"),
    ],
)
def test_order_calls_refuse_unknown_orders(
    world: World, method: str, action: str, order: str, field: str | None
) -> None:
    path = f"/api/v1/orders/{order}{action}"
    world.refused(method, path, "not_found", field, headers={"Authorization": bearer("c-1")})


@pytest.mark.parametrize("action", ["lock", "cancel"])
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "unauthenticated", id="no Authorization"),
        pytest.param("Bearer a.b.c", "unauthenticated", id="garbage token"),
        pytest.param(ADMIN, "forbidden", id="the admin key"),
    ],
)
def test_lock_and_cancel_refuse_bad_callers(
    world: World, action: str, authorization: str | None, code: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    world.refused("POST", f"/api/v1/orders/{world.reserved}/{action}", code, headers=headers)


@pytest.mark.parametrize("action", ["", "/history"])
@pytest.mark.parametrize("authorization", [None, "Bearer a.b.c", "Bearer not-the-key", "Token x"])
def test_reading_an_order_refuses_bad_callers(
    world: World, action: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    path = f"/api/v1/orders/{world.reserved}{action}"
    world.refused("GET", path, "unauthenticated", headers=headers)


def test_a_locked_order_cannot_be_cancelled(world: World) -> None:
    path = f"/api/v1/orders/{world.locked}/cancel"
    world.refused("POST", path, "locked", headers={"Authorization": bearer("c-2")})


def test_a_cancelled_order_cannot_be_locked(world: World) -> None:
    path = f"/api/v1/orders/{world.cancelled}/lock"
    world.refused("POST", path, "cancelled", headers={"Authorization": bearer("c-3")})


# --- routing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/api"),
        ("GET", "/api/v2/launches"),
        ("GET", "/api/v1/launch"),
        ("POST", "/api/v1/orders"),
        ("POST", "/API/V1/LAUNCHES"),
        ("GET", "/api/v1/launches/yu7-2025/orders/extra"),
        ("GET", "/api/v1/launches/yu7-2025/"),
        ("GET", "/api/v1/launches//"),
        ("GET", "/healthz/"),
    ],
)
def test_unknown_paths_are_404(world: World, method: str, path: str) -> None:
    world.refused(method, path, "not_found", headers={"Authorization": ADMIN})


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/launches", {"GET", "POST"}),
        ("PUT", "/api/v1/launches", {"GET", "POST"}),
        ("PUT", "/api/v1/launches/yu7-2025", {"GET"}),
        ("DELETE", "/api/v1/launches/yu7-2025", {"GET"}),
        ("GET", "/api/v1/launches/yu7-2025/orders", {"POST"}),
        ("PUT", "/api/v1/launches/yu7-2025/orders", {"POST"}),
        ("PATCH", "/api/v1/launches/yu7-2025/interest", {"POST"}),
        ("DELETE", "/api/v1/orders/{reserved}", {"GET"}),
        ("PATCH", "/api/v1/orders/{reserved}", {"GET"}),
        ("GET", "/api/v1/orders/{reserved}/lock", {"POST"}),
        ("GET", "/api/v1/orders/{reserved}/cancel", {"POST"}),
        ("POST", "/api/v1/orders/{reserved}/history", {"GET"}),
        ("POST", "/healthz", {"GET"}),
    ],
)
def test_wrong_methods_are_405_with_allow(
    world: World, method: str, path: str, allowed: set[str]
) -> None:
    response = world.refused(
        method,
        path.format(reserved=world.reserved),
        "method_not_allowed",
        headers={"Authorization": bearer("c-1"), KEY: "k-405"},
        content=order_with(),
    )
    allow = {name.strip() for name in response.headers["allow"].split(",")}
    # HEAD may be listed beside GET: it is served wherever GET is.
    assert allowed <= allow <= allowed | {"HEAD"}, response.headers["allow"]
    assert method not in allow


# --- oversize bodies ---------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid order padded with whitespace to `size` bytes."""
    body = order_with()
    return body + b" " * (size - len(body))


OVERSIZE_TARGETS = [
    pytest.param(LAUNCHES, ADMIN, id="launches"),
    pytest.param(INTEREST, CUSTOMER, id="interest"),
    pytest.param(ORDERS, CUSTOMER, id="orders"),
]


def caller(authorization: str) -> dict[str, str]:
    if authorization == CUSTOMER:
        return {"Authorization": bearer(NEWCOMER), KEY: "k-big"}
    return {"Authorization": authorization}


@pytest.mark.parametrize(("path", "authorization"), OVERSIZE_TARGETS)
@pytest.mark.parametrize("size", [LIMIT + 1, 10 * LIMIT])
def test_oversize_bodies_with_a_length_are_413(
    world: World, path: str, authorization: str, size: int
) -> None:
    response = world.refused(
        "POST", path, "too_large", content=padded(size), headers=caller(authorization)
    )
    assert response.request.headers["content-length"] == str(size)


@pytest.mark.parametrize(("path", "authorization"), OVERSIZE_TARGETS)
def test_oversize_streamed_bodies_are_413(world: World, path: str, authorization: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield order_with()
        for _ in range(20):
            yield b" " * 4096

    response = world.refused(
        "POST", path, "too_large", content=chunks(), headers=caller(authorization)
    )
    assert "content-length" not in response.request.headers


def test_a_body_of_exactly_the_limit_is_read(world: World) -> None:
    placed = world.api.post(ORDERS, content=padded(LIMIT), headers=caller(CUSTOMER))
    assert placed.status_code == 201, placed.text


@pytest.fixture
def http_world(http: Api, database: Database) -> World:
    """The real server over loopback, with a launch open on the wall clock and an order."""
    http.create_launch(opens_at=datetime.now(UTC) - timedelta(hours=1))
    placed = http.place("c-1")
    assert placed.status_code == 201, placed.text
    return World(http, database, placed.json()["id"], "", "")


@pytest.mark.parametrize(("path", "authorization"), OVERSIZE_TARGETS)
def test_oversize_bodies_over_http_are_413(
    http_world: World, path: str, authorization: str
) -> None:
    response = http_world.refused(
        "POST", path, "too_large", content=padded(LIMIT + 1), headers=caller(authorization)
    )
    assert response.request.headers["content-length"] == str(LIMIT + 1)


@pytest.mark.parametrize(("path", "authorization"), OVERSIZE_TARGETS)
def test_oversize_chunked_bodies_over_http_are_413(
    http_world: World, path: str, authorization: str
) -> None:
    def chunks() -> Iterator[bytes]:
        yield order_with()
        for _ in range(40):
            yield b" " * 4096

    response = http_world.refused(
        "POST", path, "too_large", content=chunks(), headers=caller(authorization)
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert http_world.api.get("/healthz").status_code == 200, "the server still serves"


def test_raw_header_bytes_over_http_are_refused(http_world: World) -> None:
    """What a real HTTP stack delivers (raw bytes in headers and body) is refused as documented."""
    token = bearer(NEWCOMER)
    http_world.refused(
        "POST",
        ORDERS,
        "validation",
        KEY,
        content=order_with(),
        headers={"Authorization": token, KEY: "clé".encode()},
    )
    http_world.refused(
        "POST",
        ORDERS,
        "missing_header",
        KEY,
        content=order_with(),
        headers={"Authorization": token},
    )
    http_world.refused(
        "POST",
        ORDERS,
        "unauthenticated",
        content=order_with(),
        headers={"Authorization": b"Bearer \xff\xfe", KEY: "k"},
    )
    http_world.refused(
        "POST", ORDERS, "invalid_body", content=b'{"sku": "\xff"}',
        headers={"Authorization": token, KEY: "k"},
    )  # fmt: skip


# --- far times and fast clocks -----------------------------------------------------------


YEAR_1 = "0001-01-01T00:00:00Z"
FASTEST = 1_000_000  # the largest time_scale a launch may have
# The fastest clock with the longest cooling-off window and lead time a launch may have.
LONGEST = {
    "time_scale": FASTEST,
    "deposit": {"amount": 5000, "refundable_hours": 8784},
    "variants": [{"sku": "YU7-MAX", "name": "YU7 Max", "price": 329900, "lead_weeks": [0, 520]}],
}


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"opens_at": YEAR_1, "time_scale": FASTEST}, id="year 1, fastest"),
        pytest.param({"opens_at": "2025-11-22T15:00:00Z", "time_scale": FASTEST}, id="a year ago"),
        pytest.param({"opens_at": "2026-11-19T16:00:00Z", "time_scale": FASTEST}, id="3 days ago"),
        pytest.param({"opens_at": "2026-11-19T16:00:00Z", **LONGEST}, id="3 days ago, longest"),
        pytest.param({"opens_at": "9999-12-31T23:59:59Z"}, id="last second of 9999"),
        pytest.param({"opens_at": YEAR_1, "interest_opens_at": YEAR_1}, id="year 1"),
    ],
)
def test_far_times_and_fast_clocks_never_give_a_500(world: World, fields: dict[str, Any]) -> None:
    """A launch at a far time or the fastest clock is refused cleanly, or it works throughout."""
    before = snapshot(world.db)
    body = json.loads(launch_with())
    body.update(fields)
    created = world.api.post(LAUNCHES, json=body, headers={"Authorization": ADMIN})
    assert created.status_code < 500, created.text
    if created.status_code >= 400:
        assert_error_shape(created)
        assert snapshot(world.db) == before
        return
    order = {"json": {"sku": "YU7-MAX"}, "headers": {"Authorization": bearer("c-x"), KEY: "k-x"}}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/v1/launches/new-launch", {}),
        ("GET", "/api/v1/launches", {}),
        ("POST", "/api/v1/launches/new-launch/interest", {"json": {}, "headers": caller(CUSTOMER)}),
        ("POST", "/api/v1/launches/new-launch/orders", order),
    ]
    for method, path, kw in calls:
        response = world.api.request(method, path, **kw)
        assert response.status_code < 500, (method, path, response.text)
        if response.status_code >= 400:
            assert_error_shape(response)


# --- random input ------------------------------------------------------------------------

FIELD_NAMES = [
    "slug", "name", "currency", "opens_at", "time_scale", "interest_opens_at",
    "per_customer_limit", "deposit", "amount", "refundable_hours", "variants", "sku",
    "price", "stock", "lead_weeks", "admission", "report_milestones", "profile", "phone",
    "region", "first_car_with_brand", "new_to_brand",
]  # fmt: skip
OFFSETS = ["Z", "+00:00", "+14:00", "-12:00", "+01:00", "-01:00", ""]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["YU7-MAX", "YU7-LTD", "ios", "CNY", "2026-11-22T15:00:00Z", ""])
    | st.sampled_from([1e6, 8784, 520, 10**9])  # the largest values some fields allow
)
# RFC 3339 strings from year 1 to year 9999, with and without offsets, extremes first.
instants = st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]) | st.builds(
    lambda at, tz: at.isoformat() + tz, st.datetimes(), st.sampled_from(OFFSETS)
)
scalars |= instants
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=25,
)


def mutations(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """`base` with one or two of its fields replaced by random JSON, or removed."""
    fields: list[str] = []

    def walk(value: Any, field: str) -> None:
        if field:
            fields.append(field)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{field}.{key}" if field else key)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{field}[{index}]")

    walk(base, "")

    def apply(edits: list[tuple[str, Any]]) -> Any:
        body = base
        for field, value in edits:
            # An earlier edit may have removed or replaced the parent.
            with contextlib.suppress(KeyError, IndexError, TypeError):
                body = edited(body, field, value)
        return body

    edit = st.tuples(st.sampled_from(fields), json_values | instants | st.just(DELETE))
    return st.lists(edit, min_size=1, max_size=2).map(apply)


def bodies(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Random JSON, `base` with random edits, random bytes, and cut-off JSON."""
    as_json = (json_values | mutations(base)).map(lambda v: json.dumps(v).encode())
    return as_json | st.binary(max_size=200) | as_json.map(lambda b: b[: len(b) // 2])


# Fresh slugs and customers for random examples, so valid bodies are accepted, not refused.
COUNTER = itertools.count()
RANDOM = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_random(world: World, before: dict[str, Any], response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_error_shape(response)
        assert snapshot(world.db) == before, "a refused request changed stored data"


@RANDOM
@given(body=bodies(VALID_ORDER))
def test_random_order_bodies_never_give_a_500(world: World, body: bytes) -> None:
    customer = f"c-random-{next(COUNTER)}"
    headers = {"Authorization": bearer(customer), KEY: f"k-{customer}"}
    before = snapshot(world.db)
    check_random(world, before, world.api.post(ORDERS, content=body, headers=headers))


def fresh_slug(body: bytes) -> bytes:
    """The body with its slug made unique, so that every run of an example is the same."""
    with contextlib.suppress(ValueError):
        value = json.loads(body)
        if isinstance(value, dict) and isinstance(value.get("slug"), str):
            value["slug"] = f"r{next(COUNTER)}-{value['slug']}"
            return json.dumps(value).encode()
    return body


@RANDOM
@given(body=bodies(launch_body(slug="random-launch")))
def test_random_launch_bodies_never_give_a_500(world: World, body: bytes) -> None:
    body = fresh_slug(body)
    before = snapshot(world.db)
    response = world.api.post(LAUNCHES, content=body, headers={"Authorization": ADMIN})
    check_random(world, before, response)
    if response.status_code == 201:
        read = world.api.get(f"{LAUNCHES}/{response.json()['slug']}")
        assert read.status_code == 200, read.text


@RANDOM
@given(body=bodies({"profile": {"phone": "ios", "region": "CN-BJ"}}))
def test_random_interest_bodies_never_give_a_500(world: World, body: bytes) -> None:
    headers = {"Authorization": bearer(f"c-random-{next(COUNTER)}")}
    before = snapshot(world.db)
    check_random(world, before, world.api.post(INTEREST, content=body, headers=headers))
