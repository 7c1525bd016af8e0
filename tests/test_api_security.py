"""Who may do what: customers see and change only their own orders, the admin key only
administers, and a token that is not exactly a valid HS256 token of ours is no one.

Token misuse runs over the real loopback server (uvicorn, real HTTP headers);
ownership and roles run in-process. After every refusal the SQLite file, dumped
through a separate read-only connection, is what it was before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from jwt.utils import base64url_encode

from tests.support import ADMIN_KEY, SECRET, T0, Api, Database, customer_token, launch_body

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ORDERS = "/api/v1/launches/yu7-2025/orders"
ALICE, BOB, MALLORY = "c-alice", "c-bob", "c-mallory"


# --- helpers ---------------------------------------------------------------------------


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    return db.snapshot()


def assert_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body == {"error": {"code": code, "message": body["error"]["message"], "field": field}}
    assert isinstance(body["error"]["message"], str)


def as_(customer: str) -> dict[str, str]:
    return bearer(customer_token(customer))


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def place(
    api: Api, customer: str, key: str, sku: str = "YU7-MAX", **headers: str
) -> httpx.Response:
    return api.post(
        ORDERS, json={"sku": sku}, headers={**as_(customer), "Idempotency-Key": key, **headers}
    )


def open_launch(api: Api) -> None:
    """The test launch, open both on the wall clock and on the in-process test clock."""
    api.create_launch(opens_at=min(T0, datetime.now(UTC) - timedelta(hours=1)))


@pytest.fixture
def db(database: Database) -> Database:
    return database


@pytest.fixture
def alices_order(api: Api) -> dict[str, Any]:
    """A launch in-process with one order each for Alice and Bob; Alice's order."""
    open_launch(api)
    assert place(api, BOB, "bob-1").status_code == 201
    placed = place(api, ALICE, "alice-1")
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


# --- ownership ---------------------------------------------------------------------------

ORDER_CALLS = [
    pytest.param("GET", "", id="read"),
    pytest.param("GET", "/history", id="history"),
    pytest.param("POST", "/lock", id="lock"),
    pytest.param("POST", "/cancel", id="cancel"),
]


@pytest.mark.parametrize(("method", "action"), ORDER_CALLS)
def test_a_customer_never_reads_or_changes_anothers_order(
    api: Api, db: Database, alices_order: dict[str, Any], method: str, action: str
) -> None:
    order_id = alices_order["id"]
    before = snapshot(db)
    response = api.request(method, f"/api/v1/orders/{order_id}{action}", headers=as_(BOB))
    assert_error(response, 404, "not_found", "id")
    assert ALICE not in response.text
    assert snapshot(db) == before
    assert api.get(f"/api/v1/orders/{order_id}", headers=as_(ALICE)).json() == alices_order


@pytest.mark.parametrize(("method", "action"), ORDER_CALLS)
def test_anothers_order_looks_exactly_like_no_order(
    api: Api, alices_order: dict[str, Any], method: str, action: str
) -> None:
    """The 404 gives no hint that the order exists: it is the 404 of an unknown id."""
    order_id = alices_order["id"]
    unknown = "Z" * len(order_id)
    theirs = api.request(method, f"/api/v1/orders/{order_id}{action}", headers=as_(BOB))
    nothing = api.request(method, f"/api/v1/orders/{unknown}{action}", headers=as_(BOB))
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.text.replace(order_id, "ID") == nothing.text.replace(unknown, "ID")


def test_an_owner_can_still_change_the_order_afterwards(
    api: Api, alices_order: dict[str, Any]
) -> None:
    path = f"/api/v1/orders/{alices_order['id']}"
    assert api.post(f"{path}/cancel", headers=as_(BOB)).status_code == 404
    cancelled = api.post(f"{path}/cancel", headers=as_(ALICE))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["customer"] == ALICE


# --- the admin key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        pytest.param(dict, 401, "unauthenticated", id="no credentials"),
        pytest.param(lambda: bearer("wrong-admin-key"), 401, "unauthenticated", id="wrong key"),
        pytest.param(lambda: bearer(ADMIN_KEY.upper()), 401, "unauthenticated", id="upper case"),
        pytest.param(lambda: bearer(ADMIN_KEY[:-1]), 401, "unauthenticated", id="one char short"),
        pytest.param(lambda: bearer(ADMIN_KEY + "x"), 401, "unauthenticated", id="one char more"),
        pytest.param(lambda: {"Authorization": f"Basic {ADMIN_KEY}"}, 401, "unauthenticated"),
        pytest.param(lambda: {"X-Admin-Key": ADMIN_KEY}, 401, "unauthenticated", id="other header"),
        pytest.param(lambda: as_(ALICE), 403, "forbidden", id="a customer token"),
        pytest.param(lambda: as_(ADMIN_KEY), 403, "forbidden", id="a token whose sub is the key"),
    ],
)  # fmt: skip
def test_creating_a_launch_needs_the_admin_key(
    api: Api, db: Database, headers: Callable[[], dict[str, str]], status: int, code: str
) -> None:
    before = snapshot(db)
    body = launch_body(slug="new-launch")
    response = api.post("/api/v1/launches", json=body, headers=headers())
    assert_error(response, status, code)
    assert snapshot(db) == before
    assert api.get("/api/v1/launches/new-launch").status_code == 404


def test_the_admin_key_reads_any_order_and_its_history(
    api: Api, alices_order: dict[str, Any]
) -> None:
    path = f"/api/v1/orders/{alices_order['id']}"
    read = api.get(path, headers=ADMIN)
    assert read.status_code == 200, read.text
    assert read.json() == alices_order
    history = api.get(f"{path}/history", headers=ADMIN)
    assert history.status_code == 200, history.text
    assert history.json() == api.get(f"{path}/history", headers=as_(ALICE)).json()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(ORDERS, {"sku": "YU7-MAX"}, id="place an order"),
        pytest.param("/api/v1/launches/yu7-2025/interest", {}, id="register interest"),
        pytest.param("/api/v1/orders/{id}/lock", None, id="lock an order"),
        pytest.param("/api/v1/orders/{id}/cancel", None, id="cancel an order"),
    ],
)
def test_the_admin_key_acts_for_no_customer(
    api: Api, db: Database, alices_order: dict[str, Any], path: str, body: dict[str, Any] | None
) -> None:
    before = snapshot(db)
    response = api.post(
        path.format(id=alices_order["id"]),
        json=body,
        headers={**ADMIN, "Idempotency-Key": "admin-1"},
    )
    assert_error(response, 403, "forbidden")
    assert snapshot(db) == before


# --- forged, expired and malformed tokens, over real HTTP --------------------------------


def now() -> int:
    return int(time.time())


def claims(**overrides: Any) -> dict[str, Any]:
    """Alice's claims, valid for an hour, with `overrides` (None removes a claim)."""
    values: dict[str, Any] = {"sub": ALICE, "iat": now(), "exp": now() + 3600, **overrides}
    return {name: value for name, value in values.items() if value is not None}


def hs256(payload: dict[str, Any], key: bytes = SECRET) -> str:
    return jwt.encode(payload, key, algorithm="HS256")


def signed_by_hand(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A token with any header, HMAC-SHA256-signed with `key` (no signature for None)."""
    head = base64url_encode(json.dumps(header).encode())
    body = base64url_encode(json.dumps(payload).encode())
    signing_input = head + b"." + body
    signature = b""
    if key is not None:
        signature = base64url_encode(hmac.new(key, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


def by_hand(alg: str | None, key: bytes | None = SECRET, **overrides: Any) -> str:
    """Alice's claims (with `overrides`) under header `alg`, HMAC-SHA256-signed with `key`."""
    header = {"typ": "JWT"} if alg is None else {"alg": alg, "typ": "JWT"}
    return signed_by_hand(header, claims(**overrides), key)


def with_other_hmac(algorithm: str) -> str:
    """Alice's claims under another HMAC algorithm, with the right secret."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims(), SECRET, algorithm=algorithm)


def tampered() -> str:
    """Mallory's valid token with the payload swapped for Alice's, Mallory's signature kept."""
    head, _, signature = hs256(claims(sub=MALLORY)).split(".")
    payload = base64url_encode(json.dumps(claims()).encode()).decode()
    return f"{head}.{payload}.{signature}"


def flipped_signature() -> str:
    """Alice's valid token with one character of its signature changed."""
    head, payload, signature = hs256(claims()).split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return f"{head}.{payload}.{flipped}"


OTHER_SECRET = b"another-secret-of-the-same-length-0123456789"
DAY = 86_400

BAD_TOKENS: list[Any] = [
    pytest.param(lambda: hs256(claims(), OTHER_SECRET), id="other secret"),
    pytest.param(lambda: by_hand("HS256", key=b""), id="empty secret"),
    pytest.param(lambda: hs256(claims(iat=now() - 7200, exp=now() - 60)), id="expired"),
    pytest.param(
        lambda: hs256(claims(iat=now() - 90 * DAY, exp=now() - 30 * DAY)), id="long expired"
    ),
    pytest.param(lambda: hs256(claims(exp=None)), id="no exp"),
    pytest.param(lambda: hs256(claims(exp="tomorrow")), id="exp not a number"),
    pytest.param(lambda: hs256(claims(nbf=now() + 3600)), id="not valid yet"),
    pytest.param(lambda: hs256(claims(sub=None)), id="no sub"),
    pytest.param(lambda: hs256(claims(sub="")), id="empty sub"),
    pytest.param(lambda: hs256(claims(sub="c" * 129)), id="sub of 129 chars"),
    pytest.param(lambda: hs256(claims(sub="c" * 10_000)), id="sub of 10000 chars"),
    pytest.param(lambda: by_hand("HS256", sub=12345), id="sub a number"),
    pytest.param(lambda: by_hand("HS256", sub=[ALICE]), id="sub a list"),
    pytest.param(lambda: jwt.encode(claims(), None, algorithm="none"), id="alg none"),
    pytest.param(lambda: by_hand("None", key=None), id="alg None"),
    pytest.param(lambda: by_hand("none"), id="alg none, signed"),
    pytest.param(lambda: with_other_hmac("HS512"), id="HS512"),
    pytest.param(lambda: with_other_hmac("HS384"), id="HS384"),
    pytest.param(lambda: by_hand("RS256"), id="RS256 header"),
    pytest.param(lambda: by_hand("ES256"), id="ES256 header"),
    pytest.param(lambda: by_hand(None), id="no alg"),
    pytest.param(tampered, id="tampered payload"),
    pytest.param(flipped_signature, id="flipped signature"),
    pytest.param(lambda: hs256(claims()).rsplit(".", 1)[0] + ".", id="signature removed"),
    pytest.param(lambda: hs256(claims()).rsplit(".", 1)[0], id="two segments"),
    pytest.param(lambda: hs256(claims()) + ".extra", id="four segments"),
    pytest.param(lambda: hs256(claims())[::-1], id="reversed"),
]


@pytest.fixture
def served(http: Api, database: Database) -> tuple[Api, Database, dict[str, Any]]:
    """The real server over loopback, a launch open on the wall clock, and Alice's order."""
    open_launch(http)
    placed = place(http, ALICE, "alice-1")
    assert placed.status_code == 201, placed.text
    return http, database, placed.json()


@pytest.mark.parametrize("make_token", BAD_TOKENS)
def test_a_bad_token_is_no_one(
    served: tuple[Api, Database, dict[str, Any]], make_token: Callable[[], str]
) -> None:
    api, db, order = served
    headers = {"Authorization": f"Bearer {make_token()}", "Idempotency-Key": "forged-1"}
    before = snapshot(db)
    calls = [
        ("POST", ORDERS, {"sku": "YU7-LTD"}),
        ("POST", "/api/v1/launches/yu7-2025/interest", {}),
        ("GET", f"/api/v1/orders/{order['id']}", None),
        ("GET", f"/api/v1/orders/{order['id']}/history", None),
        ("POST", f"/api/v1/orders/{order['id']}/lock", None),
        ("POST", f"/api/v1/orders/{order['id']}/cancel", None),
        ("POST", "/api/v1/launches", launch_body(slug="forged-launch")),
    ]
    for method, path, body in calls:
        response = api.request(method, path, json=body, headers=headers)
        assert_error(response, 401, "unauthenticated")
    assert snapshot(db) == before
    assert api.get(f"/api/v1/orders/{order['id']}", headers=as_(ALICE)).json() == order


def test_the_longest_customer_id_is_accepted(served: tuple[Api, Database, dict[str, Any]]) -> None:
    """The boundary of the sub check: 128 characters is a customer, 129 is not."""
    api, _db, _order = served
    placed = place(api, "c" * 128, "long-1")
    assert placed.status_code == 201, placed.text
    assert placed.json()["customer"] == "c" * 128


def test_the_well_formed_tokens_above_would_otherwise_be_accepted(
    served: tuple[Api, Database, dict[str, Any]],
) -> None:
    """The claims and signing the bad tokens start from make a good token: each has one fault."""
    api, _db, order = served
    token = hs256(claims())
    read = api.get(f"/api/v1/orders/{order['id']}", headers={"Authorization": f"Bearer {token}"})
    assert read.status_code == 200, read.text
    handmade = signed_by_hand({"alg": "HS256", "typ": "JWT"}, claims(), SECRET)
    read = api.get(f"/api/v1/orders/{order['id']}", headers={"Authorization": f"Bearer {handmade}"})
    assert read.status_code == 200, read.text


def test_a_token_for_one_customer_never_acts_for_another(
    served: tuple[Api, Database, dict[str, Any]],
) -> None:
    api, db, alices = served
    mallory = as_(MALLORY)
    # Naming Alice in the body is refused; the body carries no identity.
    before = snapshot(db)
    named = api.post(
        ORDERS,
        json={"sku": "YU7-MAX", "customer": ALICE},
        headers={**mallory, "Idempotency-Key": "m-1"},
    )
    assert_error(named, 422, "validation", "customer")
    assert snapshot(db) == before
    # Naming Alice in headers changes nothing: the order is Mallory's.
    spoofed = place(
        api, MALLORY, "m-2", **{"X-Customer-Id": ALICE, "X-Forwarded-User": ALICE, "From": ALICE}
    )
    assert spoofed.status_code == 201, spoofed.text
    assert spoofed.json()["customer"] == MALLORY
    # Mallory's token reaches none of Alice's order.
    for method, action in (
        ("GET", ""),
        ("GET", "/history"),
        ("POST", "/lock"),
        ("POST", "/cancel"),
    ):
        response = api.request(method, f"/api/v1/orders/{alices['id']}{action}", headers=mallory)
        assert_error(response, 404, "not_found", "id")
    # Alice's own key, replayed by Mallory, is Mallory's key: a new order is refused by
    # Mallory's limit, and Alice's order is not returned.
    replay = place(api, MALLORY, "alice-1")
    assert_error(replay, 409, "limit_reached")
    assert api.get(f"/api/v1/orders/{alices['id']}", headers=as_(ALICE)).json() == alices


# --- idempotency keys belong to their customer -------------------------------------------


def test_one_key_from_two_customers_makes_two_orders(api: Api) -> None:
    open_launch(api)
    alices = place(api, ALICE, "same-key")
    bobs = place(api, BOB, "same-key")
    assert alices.status_code == bobs.status_code == 201, (alices.text, bobs.text)
    assert "Idempotent-Replayed" not in alices.headers
    assert "Idempotent-Replayed" not in bobs.headers
    assert alices.json()["id"] != bobs.json()["id"]
    assert (alices.json()["customer"], bobs.json()["customer"]) == (ALICE, BOB)
    # Each retry returns its own customer's order.
    for customer, first in ((ALICE, alices), (BOB, bobs)):
        again = place(api, customer, "same-key")
        assert again.status_code == 201, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()


def test_a_key_another_customer_used_with_another_body_is_no_conflict(api: Api) -> None:
    open_launch(api)
    assert place(api, ALICE, "same-key", "YU7-MAX").status_code == 201
    bobs = place(api, BOB, "same-key", "YU7-LTD")
    assert bobs.status_code == 201, bobs.text
    assert bobs.json()["sku"] == "YU7-LTD"
    assert bobs.json()["customer"] == BOB


def test_keys_are_per_customer_over_http(http: Api) -> None:
    open_launch(http)
    alices = place(http, ALICE, "same-key")
    bobs = place(http, BOB, "same-key")
    assert alices.status_code == bobs.status_code == 201, (alices.text, bobs.text)
    assert alices.json()["id"] != bobs.json()["id"]
    assert (alices.json()["customer"], bobs.json()["customer"]) == (ALICE, BOB)
