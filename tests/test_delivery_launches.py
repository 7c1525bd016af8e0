"""Two launches on one database, their orders interleaved: each launch's build queue, as
a re-promise reads it from the store, holds its own live orders and no other launch's
(the read runs over the table from the launch's first order, on SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.support import Api
from tests.test_delivery_api import estimate, plan, variants

OTHER = "su7-2025"


def test_each_launchs_queue_holds_its_own_orders_only(api: Api) -> None:
    reserved = variants("YU7-MAX", window_hours=168)
    api.create_launch(slug=OTHER, variants=reserved, per_customer_limit=1)
    api.create_launch(variants=reserved, per_customer_limit=1)
    for slug in (OTHER, "yu7-2025"):
        response = api.request(
            "PUT", f"/api/v1/launches/{slug}/production", json=plan(2, ["YU7-MAX"]),
            headers=api.admin(),
        )  # fmt: skip
        assert response.status_code == 200, response.text
    # The other launch's first order comes before this one's, and the rest alternate.
    mine = []
    for i in range(6):
        other = api.place(f"o-{i}", slug=OTHER)
        assert other.status_code == 201, other.text
        placed = api.place(f"c-{i}")
        assert placed.status_code == 201, placed.text
        mine.append(placed.json())
    first = mine[0]
    cancelled = api.post(
        f"/api/v1/orders/{first['id']}/cancel", headers=api.as_customer(first["customer"])
    )
    assert cancelled.status_code == 200, cancelled.text
    # Read after the cancellation: each answer waits for a re-promise that read the queue.
    promised = [estimate(api, order) for order in mine[1:]]
    assert [p["queue_position"] for p in promised] == [1, 2, 3, 4, 5]
    # Reserved: each counts from its window's end, a week on, so building starts in week 1.
    assert [p["build_week"] for p in promised] == [1, 1, 2, 2, 3]
