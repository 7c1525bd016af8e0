"""Orders placed in a store by its staff, on SQLite and PostgreSQL: every check of the
online path (idempotency, the per-customer limit, limited stock, the buyer's admission in
the waiting room), the channel, store and staff member recorded, staff kept to their own
store's orders, and each change in the order's trail and the audit."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Api, Database, SettableClock
from tests.test_test_drives import as_key, put_store, store_key

SLUG = "yu7-2025"


def store_order(
    api: Api, key: str, store: str, customer: str, sku: str = "YU7-MAX", **more: Any
) -> httpx.Response:
    headers = {**as_key(key), "Idempotency-Key": more.pop("idempotency", f"{store}-{customer}")}
    token = more.pop("admission", None)
    if token is not None:
        headers["Admission-Token"] = token
    return api.post(
        f"/api/v1/stores/{store}/launches/{more.pop('slug', SLUG)}/orders",
        json={"customer": customer, "sku": sku, **more},
        headers=headers,
    )


def stores_with_staff(api: Api) -> tuple[str, str]:
    put_store(api, "bj-chaoyang")
    put_store(api, "sh-pudong", city="Shanghai", region="CN-SH", lat=31.22, lon=121.54)
    return store_key(api, "wang-chaoyang", "bj-chaoyang"), store_key(api, "li-pudong", "sh-pudong")


def test_staff_place_an_order_for_a_walk_in_with_every_check_of_the_online_path(
    api: Api, database: Database
) -> None:
    api.create_launch(per_customer_limit=1, variants=[
        {"sku": "YU7-MAX", "name": "YU7 Max", "price": 329900, "lead_weeks": [39, 42]},
        {"sku": "YU7-LTD", "name": "Launch edition", "price": 399900, "stock": 1},
    ])  # fmt: skip
    wang, _li = stores_with_staff(api)
    placed = store_order(api, wang, "bj-chaoyang", "walk-in-1")
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["channel"], order["store"], order["staff"]) == (
        "store", "bj-chaoyang", "wang-chaoyang",
    )  # fmt: skip
    assert order["customer"] == "walk-in-1"
    assert order["delivery_estimate"]["weeks"] == [39, 42]
    # A retry with the same key is the same order; the same key for another body is not.
    again = store_order(api, wang, "bj-chaoyang", "walk-in-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == order["id"]
    conflict = store_order(api, wang, "bj-chaoyang", "walk-in-1", sku="YU7-LTD")
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "idempotency_conflict")
    # The buyer's limit counts their store orders and their online ones alike.
    online = api.place("walk-in-1", key="from-the-app")
    assert (online.status_code, online.json()["error"]["code"]) == (409, "limit_reached")
    # One limited car: the store sells it once, then it is sold out for everyone.
    assert store_order(api, wang, "bj-chaoyang", "walk-in-2", "YU7-LTD").status_code == 201
    sold = api.place("online-3", "YU7-LTD")
    assert (sold.status_code, sold.json()["error"]["code"]) == (409, "sold_out")
    # The buyer reads it as their own order, with where it was placed.
    mine = api.get(f"/api/v1/orders/{order['id']}", headers=api.as_customer("walk-in-1"))
    assert (mine.status_code, mine.json()["channel"]) == (200, "store")
    trail = api.get(f"/api/v1/orders/{order['id']}/history", headers=api.as_customer("walk-in-1"))
    placed_step = trail.json()["events"][0]
    assert (placed_step["by"], placed_step["detail"]) == (
        "staff wang-chaoyang", "placed at store bj-chaoyang",
    )  # fmt: skip
    # What the staff did is in the audit, under their key's name.
    audit = api.get("/api/v1/audit", params={"key": "wang-chaoyang"}, headers=api.admin())
    paths = [entry["path"] for entry in audit.json()["entries"]]
    assert paths.count(f"/api/v1/stores/bj-chaoyang/launches/{SLUG}/orders") >= 2


def test_staff_see_and_change_only_their_own_stores_orders(api: Api, database: Database) -> None:
    api.create_launch()
    wang, li = stores_with_staff(api)
    ours = store_order(api, wang, "bj-chaoyang", "walk-in-1").json()
    theirs = store_order(api, li, "sh-pudong", "walk-in-2").json()
    online = api.place("online-3").json()
    before = database.snapshot()
    # Another store's paths: 403; another store's order (or an online one) on our path: 404.
    elsewhere = store_order(api, wang, "sh-pudong", "walk-in-4")
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (403, "forbidden")
    assert api.get("/api/v1/stores/sh-pudong/orders", headers=as_key(wang)).status_code == 403
    for other in (theirs, online):
        read = api.get(f"/api/v1/stores/bj-chaoyang/orders/{other['id']}", headers=as_key(wang))
        assert read.status_code == 404
        cancel = api.post(
            f"/api/v1/stores/bj-chaoyang/orders/{other['id']}/cancel", headers=as_key(wang)
        )
        assert cancel.status_code == 404
    # A store key is no customer: it cannot read orders by the buyers' own path.
    assert api.get(f"/api/v1/orders/{ours['id']}", headers=as_key(wang)).status_code == 403
    # A buyer cannot place a store order, nor claim the store channel online.
    buyer = api.post(
        f"/api/v1/stores/bj-chaoyang/launches/{SLUG}/orders",
        json={"customer": "walk-in-5", "sku": "YU7-MAX"},
        headers={**api.as_customer("walk-in-5"), "Idempotency-Key": "k"},
    )
    assert buyer.status_code == 403
    claimed = api.place("walk-in-5", channel="store")
    assert (claimed.status_code, claimed.json()["error"]["code"]) == (422, "validation")
    assert database.snapshot() == before
    listed = api.get("/api/v1/stores/bj-chaoyang/orders", headers=as_key(wang)).json()
    assert [o["id"] for o in listed["orders"]] == [ours["id"]]
    everyone = api.get("/api/v1/stores/sh-pudong/orders", headers=api.admin()).json()
    assert [o["id"] for o in everyone["orders"]] == [theirs["id"]]
    # The staff cancel their store's order for its buyer, inside its window.
    path = f"/api/v1/stores/bj-chaoyang/orders/{ours['id']}/cancel"
    cancelled = api.post(path, headers=as_key(wang))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    trail = api.get(f"/api/v1/orders/{ours['id']}/history", headers=api.as_customer("walk-in-1"))
    assert trail.json()["events"][-1]["by"] == "staff wang-chaoyang"


def test_a_store_order_needs_the_buyers_own_admission_when_the_launch_has_a_waiting_room(
    api: Api, database: Database, clock: SettableClock
) -> None:
    api.create_launch(admission={"rate_per_second": 100, "token_ttl_seconds": 600})
    wang, _li = stores_with_staff(api)
    other = admission_of(api, clock, "someone-else")
    before = database.snapshot()
    refused = store_order(api, wang, "bj-chaoyang", "walk-in-1")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "admission_required")
    # Someone else's admission does not let this buyer past the queue.
    stolen = store_order(api, wang, "bj-chaoyang", "walk-in-1", admission=other)
    assert stolen.status_code == 403
    assert database.snapshot() == before
    own = admission_of(api, clock, "walk-in-1")
    placed = store_order(api, wang, "bj-chaoyang", "walk-in-1", admission=own)
    assert placed.status_code == 201, placed.text


def admission_of(api: Api, clock: SettableClock, customer: str) -> str:
    """The customer joins the room with their phone; admitted a second later."""
    me = api.as_customer(customer)
    ticket = api.post(f"/api/v1/launches/{SLUG}/queue", headers=me).json()
    clock.advance(seconds=2)
    ticket = api.get(f"/api/v1/launches/{SLUG}/queue/{ticket['ticket']}", headers=me).json()
    assert ticket["state"] == "admitted", ticket
    return ticket["admission_token"]  # type: ignore[no-any-return]


def test_bad_store_orders_are_refused_and_change_nothing(api: Api, database: Database) -> None:
    api.create_launch()
    wang, _li = stores_with_staff(api)
    put_store(api, "bj-service", kinds=["service"])
    servicing = store_key(api, "zhao-service", "bj-service")
    before = database.snapshot()
    for key, store, body, status, field in (
        (wang, "bj-chaoyang", {"sku": "YU7-NOPE"}, 404, "sku"),
        (wang, "bj-chaoyang", {"customer": ""}, 422, "customer"),
        (wang, "bj-chaoyang", {"delivery_centre": "bj-chaoyang"}, 422, "delivery_centre"),
        (wang, "bj-chaoyang", {"delivery_centre": "nowhere"}, 404, "delivery_centre"),
        (wang, "bj-chaoyang", {"channel": "app"}, 422, "channel"),
        (servicing, "bj-service", {}, 422, "store"),
    ):
        refused = store_order(api, key, store, body.pop("customer", "walk-in-1"), **body)
        assert refused.status_code == status, (body, refused.text)
        if field is not None:
            assert refused.json()["error"]["field"] == field, body
    no_key = api.post(
        f"/api/v1/stores/bj-chaoyang/launches/{SLUG}/orders",
        json={"customer": "walk-in-1", "sku": "YU7-MAX"},
        headers=as_key(wang),
    )
    assert (no_key.status_code, no_key.json()["error"]["code"]) == (400, "missing_header")
    assert database.snapshot() == before
