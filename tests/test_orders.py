"""Placing, reading, locking and cancelling orders, as a customer sees it."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support import T0, Api, Database, SettableClock, launch_body


def test_a_placed_order_has_the_documented_shape(client: Api) -> None:
    client.create_launch()
    response = client.place("c-123", profile={"phone": "ios", "region": "CN-BJ"})
    assert response.status_code == 201, response.text
    order = response.json()
    assert set(order) >= {
        "id",
        "launch",
        "sku",
        "customer",
        "status",
        "deposit",
        "placed_at",
        "refundable_until",
        "sequence",
    }
    assert order["launch"] == "yu7-2025"
    assert order["sku"] == "YU7-MAX"
    assert order["customer"] == "c-123"
    assert order["status"] == "reserved"
    assert order["deposit"] == {"amount": 5000, "currency": "CNY"}
    placed = datetime.fromisoformat(order["placed_at"])
    until = datetime.fromisoformat(order["refundable_until"])
    assert order["placed_at"].endswith("Z")
    assert until - placed == timedelta(hours=168)
    assert response.headers["location"] == f"/api/v1/orders/{order['id']}"
    # No production plan: the variant's fixed lead time, counted from the placement.
    estimate = order["delivery_estimate"]
    assert estimate["weeks"] == [39, 42]
    assert estimate["from"] == (placed + timedelta(weeks=39)).date().isoformat()
    assert estimate["to"] == (placed + timedelta(weeks=42)).date().isoformat()
    assert estimate["build_week"] is None


def test_an_acknowledged_order_is_already_in_the_database(client: Api, database: Database) -> None:
    client.create_launch()
    order = client.place("c-1").json()
    rows = database.query("SELECT customer, sku FROM orders WHERE id = ?", order["id"])
    assert rows == [("c-1", "YU7-MAX")]


def test_replaying_an_idempotency_key_returns_the_same_order(client: Api) -> None:
    client.create_launch()
    first = client.place("c-1", key="k-1")
    again = client.place("c-1", key="k-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    launch = client.get("/api/v1/launches/yu7-2025").json()
    assert launch["counts"]["placed"] == 1


def test_the_same_key_with_another_body_is_a_conflict(client: Api) -> None:
    client.create_launch()
    assert client.place("c-1", "YU7-MAX", key="k-1").status_code == 201
    response = client.place("c-1", "YU7-LTD", key="k-1")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    profile_changed = client.place("c-1", "YU7-MAX", key="k-1", profile={"phone": "ios"})
    assert profile_changed.json()["error"]["code"] == "idempotency_conflict"


def test_orders_before_opening_are_not_open(client: Api) -> None:
    client.create_launch(opens_at=datetime.now().astimezone() + timedelta(days=30))
    response = client.place("c-1")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_open"
    assert client.get("/api/v1/launches/yu7-2025").json()["counts"]["placed"] == 0


def test_one_identity_holds_at_most_the_launch_limit(client: Api) -> None:
    client.create_launch(per_customer_limit=2)
    assert client.place("c-1", key="a").status_code == 201
    assert client.place("c-1", key="b").status_code == 201
    third = client.place("c-1", key="c")
    assert third.status_code == 409
    assert third.json()["error"]["code"] == "limit_reached"
    assert client.place("c-2", key="a").status_code == 201


def test_a_cancelled_order_frees_the_customers_slot(client: Api) -> None:
    client.create_launch()
    order = client.place("c-1", key="a").json()
    assert client.place("c-1", key="b").json()["error"]["code"] == "limit_reached"
    cancelled = client.post(
        f"/api/v1/orders/{order['id']}/cancel", headers=client.as_customer("c-1")
    )
    assert cancelled.status_code == 200
    assert client.place("c-1", key="b").status_code == 201


def test_a_cancelled_reservation_returns_its_unit_to_stock(client: Api) -> None:
    limited = [{"sku": "ONE", "name": "Only one", "price": 1, "stock": 1}]
    client.create_launch(variants=limited)
    order = client.place("c-1", "ONE").json()
    assert client.place("c-2", "ONE").json()["error"]["code"] == "sold_out"
    variant = client.get("/api/v1/launches/yu7-2025").json()["variants"][0]
    assert variant["counts"] == {
        "placed": 1,
        "cancelled": 0,
        "live": 1,
        "available": 0,
        "sold_out": True,
    }
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=client.as_customer("c-1"))
    assert client.place("c-2", "ONE").status_code == 201


def test_cancel_inside_the_window_records_the_refund(client: Api) -> None:
    client.create_launch()
    order = client.place("c-1").json()
    response = client.post(
        f"/api/v1/orders/{order['id']}/cancel", headers=client.as_customer("c-1")
    )
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["refund"] == {"amount": 5000, "currency": "CNY"}
    assert cancelled["cancelled_at"] is not None
    again = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=client.as_customer("c-1"))
    assert again.status_code == 200
    assert again.json() == cancelled
    lock = client.post(f"/api/v1/orders/{order['id']}/lock", headers=client.as_customer("c-1"))
    assert lock.status_code == 409
    assert lock.json()["error"]["code"] == "cancelled"


def test_an_early_lock_makes_the_order_firm_and_cancel_refused(client: Api) -> None:
    client.create_launch()
    order = client.place("c-1").json()
    locked = client.post(f"/api/v1/orders/{order['id']}/lock", headers=client.as_customer("c-1"))
    assert locked.status_code == 200
    assert locked.json()["status"] == "locked"
    assert locked.json()["locked_at"] is not None
    refused = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=client.as_customer("c-1"))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "locked"
    read = client.get(f"/api/v1/orders/{order['id']}", headers=client.as_customer("c-1"))
    assert read.json()["status"] == "locked"


def test_a_zero_hour_deposit_locks_on_payment(client: Api) -> None:
    client.create_launch()
    order = client.place("c-1", "YU7-LTD").json()
    assert order["status"] == "locked"
    assert order["deposit"] == {"amount": 20000, "currency": "CNY"}
    assert order["refundable_until"] == order["placed_at"]
    refused = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=client.as_customer("c-1"))
    assert refused.json()["error"]["code"] == "locked"


def test_a_reservation_reads_as_locked_once_its_window_has_passed(
    api: Api, clock: SettableClock
) -> None:
    api.create_launch()
    order = api.place("c-1").json()
    clock.advance(hours=167, minutes=59)
    headers = api.as_customer("c-1")
    assert api.get(f"/api/v1/orders/{order['id']}", headers=headers).json()["status"] == "reserved"
    clock.advance(minutes=1)
    assert api.get(f"/api/v1/orders/{order['id']}", headers=headers).json()["status"] == "locked"
    refused = api.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "locked"


def test_the_lead_time_window_counts_from_each_orders_own_day_and_variant(
    api: Api, clock: SettableClock
) -> None:
    body = launch_body()
    body["variants"].append({**body["variants"][0], "sku": "YU7-PRO", "lead_weeks": [51, 54]})
    api.create_launch(variants=body["variants"])
    placed = {}
    for customer, sku, hours in (
        ("c-1", "YU7-MAX", 0),
        ("c-2", "YU7-PRO", 0),
        ("c-3", "YU7-MAX", 30),
    ):
        clock.now = T0 + timedelta(hours=hours)
        placed[customer] = api.place(customer, sku).json()
    for order, weeks in ((placed["c-1"], 39), (placed["c-2"], 51), (placed["c-3"], 39)):
        day = datetime.fromisoformat(order["placed_at"]).date()
        estimate = order["delivery_estimate"]
        assert estimate["weeks"] == [weeks, weeks + 3]
        assert estimate["from"] == (day + timedelta(weeks=weeks)).isoformat()
        assert estimate["to"] == (day + timedelta(weeks=weeks + 3)).isoformat()
    assert placed["c-1"]["delivery_estimate"]["from"] != placed["c-3"]["delivery_estimate"]["from"]


def test_the_window_runs_on_the_launch_clock(api: Api, clock: SettableClock) -> None:
    # A rehearsal at 3600x: one real minute is 60 launch hours.
    clock.now = T0 - timedelta(minutes=1)
    api.create_launch(time_scale=3600)
    clock.now = T0 + timedelta(seconds=10)
    order = api.place("c-1").json()
    assert datetime.fromisoformat(order["placed_at"]) == T0 + timedelta(hours=10)
    clock.advance(minutes=2, seconds=48)  # 168 launch hours later
    read = api.get(f"/api/v1/orders/{order['id']}", headers=api.as_customer("c-1")).json()
    assert read["status"] == "locked"


def test_every_transition_is_in_the_audit_trail(api: Api, clock: SettableClock) -> None:
    api.create_launch(per_customer_limit=3)
    headers = api.as_customer("c-1")
    cancelled = api.place("c-1", key="a").json()
    clock.advance(minutes=5)
    api.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=headers)
    locked = api.place("c-1", key="b").json()
    clock.advance(minutes=5)
    api.post(f"/api/v1/orders/{locked['id']}/lock", headers=headers)
    lapsed = api.place("c-1", key="c").json()
    clock.advance(hours=200)

    def trail(order_id: str) -> list[tuple[str, str, str]]:
        body = api.get(f"/api/v1/orders/{order_id}/history", headers=headers).json()
        return [(e["status"], e["by"], e["at"]) for e in body["events"]]

    assert trail(cancelled["id"]) == [
        ("reserved", "customer", cancelled["placed_at"]),
        (
            "cancelled",
            "customer",
            (T0 + timedelta(hours=1, minutes=5)).isoformat().replace("+00:00", "Z"),
        ),
    ]
    assert [s for s, _, _ in trail(locked["id"])] == ["reserved", "locked"]
    assert trail(lapsed["id"])[-1] == ("locked", "window", lapsed["refundable_until"])
    admin = api.get(f"/api/v1/orders/{lapsed['id']}/history", headers=api.admin())
    assert admin.status_code == 200


def test_interest_is_idempotent_per_customer(client: Api) -> None:
    client.create_launch()
    path = "/api/v1/launches/yu7-2025/interest"
    profile = {
        "first_car_with_brand": True,
        "new_to_brand": False,
        "phone": "ios",
        "region": "CN-BJ",
    }
    first = client.post(path, json={"profile": profile}, headers=client.as_customer("c-1"))
    assert first.status_code == 201
    assert first.json()["profile"] == profile
    again = client.post(
        path, json={"profile": {**profile, "region": "CN-SH"}}, headers=client.as_customer("c-1")
    )
    assert again.status_code == 200
    assert again.json()["registered_at"] == first.json()["registered_at"]
    assert again.json()["profile"]["region"] == "CN-SH"
    assert client.get("/api/v1/launches/yu7-2025").json()["counts"]["interest"] == 1


def test_interest_before_registration_opens_is_not_open(api: Api, clock: SettableClock) -> None:
    api.create_launch(interest_opens_at="2026-11-25T12:00:00Z", opens_at=T0 + timedelta(days=5))
    response = api.post(
        "/api/v1/launches/yu7-2025/interest", json={}, headers=api.as_customer("c-1")
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_open"


def test_a_launch_reads_back_with_its_configuration_and_live_counts(client: Api) -> None:
    created = client.create_launch().json()
    client.place("c-1", "YU7-MAX")
    client.place("c-2", "YU7-LTD")
    launch = client.get("/api/v1/launches/yu7-2025").json()
    assert created["slug"] == launch["slug"] == "yu7-2025"
    assert launch["deposit"] == {"amount": 5000, "refundable_hours": 168}
    by_sku = {v["sku"]: v for v in launch["variants"]}
    assert by_sku["YU7-LTD"]["deposit"] == {"amount": 20000, "refundable_hours": 0}
    assert by_sku["YU7-LTD"]["counts"]["available"] == 4999
    assert by_sku["YU7-MAX"]["counts"]["available"] is None
    assert launch["counts"] == {"placed": 2, "cancelled": 0, "live": 2, "interest": 0}
    assert launch["is_open"] is True
    listed = client.get("/api/v1/launches").json()["launches"]
    assert [item["slug"] for item in listed] == ["yu7-2025"]


def test_a_second_launch_with_the_same_slug_is_refused(client: Api) -> None:
    client.create_launch()
    again = client.post("/api/v1/launches", json=launch_body(), headers=client.admin())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_exists"


def test_sequences_are_unique_and_increase_with_acceptance(client: Api) -> None:
    client.create_launch()
    sequences = [client.place(f"c-{i}").json()["sequence"] for i in range(20)]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 20


def test_changes_reach_orders_of_any_launch_and_only_their_owners(
    client: Api, database: Database
) -> None:
    """A change is written under the launch the server last took an order of, checked
    in the write against the order's own: an order of another launch is changed under
    its own launch's terms (its currency in the trail), and a stranger's change is
    refused whichever launch the order is of."""
    client.create_launch()
    client.create_launch(slug="su7-2024", currency="EUR")
    first = client.place("c-1").json()
    later = client.place("c-1", slug="su7-2024").json()  # the last launch taken: su7-2024
    for order, change, currency in ((first, "cancel", "CNY"), (later, "lock", "EUR")):
        path = f"/api/v1/orders/{order['id']}"
        for each in ("lock", "cancel"):
            stranger = client.post(f"{path}/{each}", headers=client.as_customer("c-2"))
            assert stranger.status_code == 404
            assert stranger.json()["error"]["code"] == "not_found"
        done = client.post(f"{path}/{change}", headers=client.as_customer("c-1"))
        assert done.status_code == 200, done.text
        assert done.json()["launch"] == order["launch"]
        assert done.json()["deposit"]["currency"] == currency
    trail = client.get(f"/api/v1/orders/{first['id']}/history", headers=client.as_customer("c-1"))
    assert trail.json()["events"][-1]["detail"] == "refund 5000 CNY"
    unknown = client.post(
        "/api/v1/orders/nothing-like-it/cancel", headers=client.as_customer("c-1")
    )
    assert unknown.status_code == 404
    rows = database.query("SELECT id, status FROM orders")
    assert sorted(rows) == sorted([(first["id"], "cancelled"), (later["id"], "locked")])
