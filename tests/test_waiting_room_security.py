"""Admission tokens over the real loopback server (uvicorn, real HTTP headers, the wall
clock): only a token the waiting room issued, to this customer, for this launch, and not
yet expired places an order, and never more orders than the per-customer limit. Admission
tokens and customer tokens are never interchangeable.

After every refusal the orders table, read through a separate read-only connection, is
what it was before.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from launchday.services.admission_tokens import AdmissionTokens
from tests.support import (
    ADMIN_KEY,
    SECRET,
    T0,
    Api,
    customer_token,
    http_api,
    launch_body,
    settings_for,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
YU7, SU7, LIMIT2, FAST, OPEN = "yu7-2025", "su7-2024", "yu7-limit-2", "yu7-fast-expiry", "no-room"
# Launch time runs 10 times faster on FAST: its 3-second tokens live 0.3 real seconds.
FAST_SCALE, FAST_TTL = 10, 3


@dataclass(frozen=True)
class Served:
    api: Api
    db: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One real server for the module, with launches open on the wall clock."""
    db = tmp_path_factory.mktemp("room-security") / "launchday.db"
    opens_at = min(T0, datetime.now(UTC) - timedelta(hours=1))
    room = {"rate_per_second": 1000, "token_ttl_seconds": 900}
    with http_api(settings_for(db)) as api:
        for slug, overrides in (
            (YU7, {"admission": room}),
            (SU7, {"admission": room}),
            (LIMIT2, {"admission": room, "per_customer_limit": 2}),
            (
                FAST,
                {
                    "admission": {"rate_per_second": 1000, "token_ttl_seconds": FAST_TTL},
                    "time_scale": FAST_SCALE,
                },
            ),
            (OPEN, {}),
        ):
            body = launch_body(slug=slug, opens_at=opens_at, **overrides)
            created = api.post("/api/v1/launches", json=body, headers=ADMIN)
            assert created.status_code == 201, created.text
        yield Served(api, db)


def someone(name: str) -> str:
    """A customer of this test alone: the server is shared by the module."""
    return f"{name}-{uuid.uuid4().hex[:12]}"


def as_(customer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {customer_token(customer)}"}


def orders_rows(db: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return sorted(conn.execute("SELECT * FROM orders"), key=repr)
    finally:
        conn.close()


def admitted(api: Api, customer: str, slug: str = YU7) -> dict[str, Any]:
    """Join the room and poll (bounded) until admitted; the ticket with its token."""
    joined = api.post(f"/api/v1/launches/{slug}/queue", headers=as_(customer))
    assert joined.status_code in (200, 201), joined.text
    ticket = joined.json()
    for _ in range(500):
        if ticket["state"] != "waiting":
            break
        time.sleep(0.01)
        response = api.get(
            f"/api/v1/launches/{slug}/queue/{ticket['ticket']}", headers=as_(customer)
        )
        assert response.status_code == 200, response.text
        ticket = response.json()
    assert ticket["state"] == "admitted", ticket
    assert isinstance(ticket["admission_token"], str)
    return ticket


def place(
    api: Api, customer: str, token: str | None, slug: str = YU7, key: str | None = None
) -> httpx.Response:
    headers = {**as_(customer), "Idempotency-Key": key or uuid.uuid4().hex}
    if token is not None:
        headers["Admission-Token"] = token
    return api.post(f"/api/v1/launches/{slug}/orders", json={"sku": "YU7-MAX"}, headers=headers)


def assert_admission_required(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "admission_required"
    assert error["field"] == "Admission-Token"


# --- forging by hand --------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims_of(token: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(unb64(token.split(".")[1]))
    return result


def with_claims(token: str, **changes: Any) -> str:
    """The token with its payload changed and its signature kept."""
    head, _payload, signature = token.split(".")
    payload = {**claims_of(token), **changes}
    return ".".join((head, b64(json.dumps(payload).encode()), signature))


def resigned(token: str, key: bytes, algorithm: str = "HS256") -> str:
    """The same claims, signed with `key`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims_of(token), key, algorithm=algorithm)


def flipped(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(unb64(signature))
    raw[0] ^= 1
    return ".".join((head, payload, b64(bytes(raw))))


def unsigned(token: str) -> str:
    return jwt.encode(claims_of(token), None, algorithm="none")


# --- the happy path and the limit -------------------------------------------------------


def test_an_issued_token_places_one_order_and_no_more_than_the_limit(served: Served) -> None:
    alice = someone("alice")
    token = admitted(served.api, alice)["admission_token"]
    claims = claims_of(token)
    assert claims["sub"] == alice
    assert claims["launch"] == YU7
    first = place(served.api, alice, token, key="alice-1")
    assert first.status_code == 201, first.text
    assert first.json()["customer"] == alice
    rows = orders_rows(served.db)
    again = place(served.api, alice, token, key="alice-2")
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "limit_reached"
    replay = place(served.api, alice, token, key="alice-1")
    assert replay.status_code == 201, replay.text
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert orders_rows(served.db) == rows


def test_a_token_places_up_to_a_limit_of_two(served: Served) -> None:
    bob = someone("bob")
    token = admitted(served.api, bob, LIMIT2)["admission_token"]
    for n in (1, 2):
        placed = place(served.api, bob, token, LIMIT2)
        assert placed.status_code == 201, (n, placed.text)
    third = place(served.api, bob, token, LIMIT2)
    assert third.status_code == 409, third.text
    assert third.json()["error"]["code"] == "limit_reached"


def test_a_launch_without_a_waiting_room_needs_no_token(served: Served) -> None:
    placed = place(served.api, someone("carol"), None, OPEN)
    assert placed.status_code == 201, placed.text


# --- refusals ---------------------------------------------------------------------------

MISUSES = [
    "missing",
    "empty",
    "garbage",
    "another key",
    "the raw LAUNCHDAY_SECRET",
    "the raw secret, HS512",
    "alg none",
    "payload tampered: another customer",
    "payload tampered: exp extended",
    "payload tampered: another launch",
    "signature flipped",
    "truncated",
    "another customer's",
    "another launch's",
    "a customer token",
    "a customer token with a launch claim",
]


def misuse(served: Served, kind: str) -> tuple[str, str | None]:
    """A customer admitted to YU7 and a token that must not admit them: (customer, token)."""
    api = served.api
    mallory = someone("mallory")
    own = admitted(api, mallory)["admission_token"]
    victim = someone("victim")
    theirs = admitted(api, victim)["admission_token"]
    other_launch = admitted(api, mallory, SU7)["admission_token"]
    later = (datetime.now(UTC) + timedelta(days=30)).timestamp()
    tokens: dict[str, str | None] = {
        "missing": None,
        "empty": "",
        "garbage": "not-a-token",
        "another key": resigned(own, os.urandom(32)),
        "the raw LAUNCHDAY_SECRET": resigned(own, SECRET),
        "the raw secret, HS512": resigned(own, SECRET, "HS512"),
        "alg none": unsigned(own),
        "payload tampered: another customer": with_claims(theirs, sub=mallory),
        "payload tampered: exp extended": with_claims(own, exp=later),
        "payload tampered: another launch": with_claims(other_launch, launch=YU7),
        "signature flipped": flipped(own),
        "truncated": own[:-4],
        "another customer's": theirs,
        "another launch's": other_launch,
        "a customer token": customer_token(mallory),
        "a customer token with a launch claim": jwt.encode(
            {**claims_of(own), "iat": int(time.time())}, SECRET, algorithm="HS256"
        ),
    }
    assert set(tokens) == set(MISUSES)
    return mallory, tokens[kind]


@pytest.mark.parametrize("kind", MISUSES)
def test_a_token_that_is_not_exactly_an_issued_one_places_no_order(
    served: Served, kind: str
) -> None:
    customer, token = misuse(served, kind)
    rows = orders_rows(served.db)
    assert_admission_required(place(served.api, customer, token))
    assert orders_rows(served.db) == rows


def test_the_misused_tokens_differ_from_the_issued_one_only_as_described(served: Served) -> None:
    """The forged tokens above carry exactly the claims of a token that works: what
    refuses them is the signature, not a claim."""
    mallory, forged = misuse(served, "the raw LAUNCHDAY_SECRET")
    assert forged is not None
    claims = claims_of(forged)
    assert claims["sub"] == mallory
    assert claims["launch"] == YU7
    assert claims["exp"] > datetime.now(UTC).timestamp()
    own = admitted(served.api, mallory)["admission_token"]  # the same ticket as before
    assert claims_of(own) == claims
    placed = place(served.api, mallory, own)
    assert placed.status_code == 201, placed.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", f"/api/v1/launches/{YU7}/orders", id="place an order"),
        pytest.param("POST", f"/api/v1/launches/{YU7}/queue", id="join the queue"),
        pytest.param("GET", f"/api/v1/launches/{YU7}/queue/{{ticket}}", id="read the ticket"),
        pytest.param("POST", f"/api/v1/launches/{YU7}/interest", id="register interest"),
        pytest.param("GET", "/api/v1/launches/{slug}/admission", id="read admission"),
    ],
)
def test_an_admission_token_is_no_customer_token(served: Served, method: str, path: str) -> None:
    alice = someone("alice")
    ticket = admitted(served.api, alice)
    token = ticket["admission_token"]
    rows = orders_rows(served.db)
    response = served.api.request(
        method,
        path.format(ticket=ticket["ticket"], slug=YU7),
        headers={
            "Authorization": f"Bearer {token}",
            "Admission-Token": token,
            "Idempotency-Key": "k-1",
        },
        json={"sku": "YU7-MAX"} if method == "POST" else None,
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
    assert orders_rows(served.db) == rows


def test_tokens_swapped_between_the_headers_are_refused(served: Served) -> None:
    alice = someone("alice")
    token = admitted(served.api, alice)["admission_token"]
    response = served.api.post(
        f"/api/v1/launches/{YU7}/orders",
        json={"sku": "YU7-MAX"},
        headers={
            "Authorization": f"Bearer {token}",
            "Admission-Token": customer_token(alice),
            "Idempotency-Key": "swapped",
        },
    )
    assert response.status_code == 401, response.text


# --- expiry -----------------------------------------------------------------------------


def test_a_token_minted_by_the_app_places_an_order_until_it_expires(served: Served) -> None:
    """The app's own minter, with the server's secret: valid until `exp` (launch time)."""
    minter = AdmissionTokens(SECRET)
    now = datetime.now(UTC)
    gone, fresh = someone("gone"), someone("fresh")
    expired = minter.mint(gone, YU7, "t-1", now - timedelta(seconds=1))
    assert_admission_required(place(served.api, gone, expired))
    valid = minter.mint(fresh, YU7, "t-2", now + timedelta(minutes=10))
    placed = place(served.api, fresh, valid)
    assert placed.status_code == 201, placed.text


def test_an_issued_token_expires_after_its_ttl_in_launch_time(served: Served) -> None:
    """On a launch at x10 whose tokens live 3 launch seconds: poll until the ticket reads
    expired (bounded), then the token it carried places nothing."""
    api = served.api
    ticket: dict[str, Any] | None = None
    for _ in range(20):  # the token lives 0.3 real seconds: retry if a slow poll missed it
        customer = someone("slow")
        joined = api.post(f"/api/v1/launches/{FAST}/queue", headers=as_(customer))
        assert joined.status_code == 201, joined.text
        path = f"/api/v1/launches/{FAST}/queue/{joined.json()['ticket']}"
        reading = joined.json()
        for _ in range(200):
            if reading["state"] != "waiting":
                break
            time.sleep(0.002)
            reading = api.get(path, headers=as_(customer)).json()
        if reading["state"] == "admitted":
            ticket = reading
            break
    assert ticket is not None, "never saw a ticket in its admitted state"
    token = ticket["admission_token"]
    assert token
    admitted_at = datetime.fromisoformat(ticket["admitted_at"])
    expires_at = datetime.fromisoformat(ticket["expires_at"])
    assert expires_at - admitted_at == timedelta(seconds=FAST_TTL)
    assert claims_of(token)["exp"] == pytest.approx(expires_at.timestamp())

    for _ in range(500):
        reading = api.get(path, headers=as_(customer)).json()
        if reading["state"] == "expired":
            break
        time.sleep(0.02)
    assert reading["state"] == "expired", reading
    assert reading["admission_token"] is None
    rows = orders_rows(served.db)
    assert_admission_required(place(api, customer, token, FAST))
    assert orders_rows(served.db) == rows
    # Joining again rejoins the same ticket (its place kept, or at the back of the queue):
    # the expired token stays refused, and a fresh one is a token of its own.
    again = api.post(f"/api/v1/launches/{FAST}/queue", headers=as_(customer))
    assert again.status_code == 200, again.text
    assert again.json()["ticket"] == ticket["ticket"]
    assert again.json()["rejoins"] == 1
    assert again.json()["admission_token"] != token
    assert_admission_required(place(api, customer, token, FAST))
    assert orders_rows(served.db) == rows
