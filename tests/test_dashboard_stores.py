"""The dashboard's stores view in the live feed, on SQLite and PostgreSQL: orders by channel
and the stores ranked by orders then test drives done, counted from each tick's new orders
(the newest second read again, never counted twice), through the launch-time index; no
view for a brand without stores."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta

import pytest

from launchday.domain.clock import to_micros
from launchday.store.reads.live import NEW_ORIGINS_SQL
from launchday.store.sql import ReadConnection
from launchday.web import stores_live
from launchday.web.stores_live import OriginCounts
from tests import test_dashboard
from tests.bulk_orders import insert_orders
from tests.store_scenario import booked, mark, placed, put_stores
from tests.support import T0, Database
from tests.test_dashboard import InProcess
from tests.test_store_orders import store_order

US = 1_000_000
inproc = test_dashboard.inproc  # the app in-process, its feed ticked by the test


def channels(stores: dict[str, object]) -> dict[str, int]:
    return {c["channel"]: c["orders"] for c in stores["channels"]}  # type: ignore[attr-defined]


def test_a_brand_without_stores_has_no_stores_view(inproc: InProcess) -> None:
    inproc.api.create_launch()
    inproc.place_at(T0 + timedelta(seconds=1), "c-1", channel="web")
    event = inproc.tick()
    assert event["orders"]["placed"] == 1
    assert event["stores"] is None


def test_the_view_counts_orders_by_channel_and_ranks_the_stores(
    inproc: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stores_live, "STORES_EVERY_SECONDS", 0.0)  # stores read every tick
    api, clock = inproc.api, inproc.clock
    api.create_launch()
    staff = put_stores(api)
    first = inproc.tick()["stores"]
    assert first == {
        "orders": 0,
        "store_orders": 0,
        "channels": [{"channel": name, "orders": 0} for name in ("app", "web", "store", "partner")],
        "top": [],
        "ranked": 0,
    }
    second = timedelta(seconds=1)
    inproc.place_at(T0 + 1 * second, "alice", channel="web")
    inproc.place_at(T0 + 2 * second, "bob")
    inproc.place_at(T0 + 2.5 * second, "carol", channel="partner")
    clock.now = T0 + 3 * second
    placed(store_order(api, staff.chaoyang, "bj-chaoyang", "walk-in-1"))
    clock.now = T0 + 3.5 * second
    placed(store_order(api, staff.pudong, "sh-pudong", "walk-in-2"))
    placed(store_order(api, staff.pudong, "sh-pudong", "walk-in-3"))
    clock.now = T0 + 4 * second
    stores = inproc.tick()["stores"]
    assert channels(stores) == {"app": 1, "web": 1, "store": 3, "partner": 1}
    assert (stores["orders"], stores["store_orders"], stores["ranked"]) == (6, 3, 2)
    assert [(s["store"], s["orders"], s["test_drives_done"]) for s in stores["top"]] == [
        ("sh-pudong", 2, 0),
        ("bj-chaoyang", 1, 0),
    ]
    assert stores["top"][0]["name"] == "Xiaomi Auto Shanghai Pudong"
    assert stores["top"][0]["city"] == "Shanghai"

    # Another order in the newest second the last tick saw: counted once, not twice.
    clock.now = T0 + 3.8 * second
    placed(store_order(api, staff.jingan, "sh-jingan", "walk-in-4"))
    clock.now = T0 + 5 * second
    stores = inproc.tick()["stores"]
    assert channels(stores) == {"app": 1, "web": 1, "store": 4, "partner": 1}
    # Jing'an has as many orders as Chaoyang, and comes after it by name...
    assert [s["store"] for s in stores["top"]] == ["sh-pudong", "bj-chaoyang", "sh-jingan"]
    # ...until a test drive done there puts it ahead.
    drive = booked(api, "dave", "sh-jingan", "2026-11-23T02:00:00Z")
    clock.now = T0 + timedelta(hours=11, minutes=1)  # 10:01 in Shanghai: it has begun
    mark(api, staff.jingan, "sh-jingan", drive, "done")
    stores = inproc.tick()["stores"]
    assert [(s["store"], s["orders"], s["test_drives_done"]) for s in stores["top"]] == [
        ("sh-pudong", 2, 0),
        ("sh-jingan", 1, 1),
        ("bj-chaoyang", 1, 0),
    ]
    assert stores["orders"] == 7


def test_the_newest_second_is_counted_again_and_replaced() -> None:
    counts = OriginCounts(opens_us=0)
    assert counts.read_after_us() == -1
    counts.apply([(1, "app", None, 2), (2, "store", "bj-chaoyang", 1)])
    # Second 2 may still grow: the next read starts where it starts.
    assert counts.read_after_us() == 1 * US
    counts.apply([(2, "store", "bj-chaoyang", 3), (3, "web", None, 1)])
    assert counts.counts() == {
        ("app", None): 2,
        ("store", "bj-chaoyang"): 3,
        ("web", None): 1,
    }
    # A row of a second already closed (a late read) is not counted again.
    counts.apply([(2, "store", "bj-chaoyang", 3), (3, "web", None, 1)])
    assert counts.counts()[("store", "bj-chaoyang")] == 3
    assert counts.read_after_us() == 2 * US


def test_the_per_tick_read_of_origins_goes_through_the_launch_time_index(
    inproc: InProcess, database: Database
) -> None:
    inproc.api.create_launch()
    # As many orders as the curve's own test: PostgreSQL then plans with its indexes.
    last = insert_orders(database, 1, to_micros(T0), 50_000).last_placed_us
    params = {"opens": to_micros(T0), "launch": 1, "after": last - US}
    with closing(database.connect()) as conn:
        db = ReadConnection(conn)
        rows = db.all(NEW_ORIGINS_SQL, params)
        explain = "EXPLAIN" if database.is_postgres else "EXPLAIN QUERY PLAN"
        plan = [str(row[0 if database.is_postgres else 3]) for row in db.all(
            f"{explain} {NEW_ORIGINS_SQL}", params)]  # fmt: skip
    assert sum(row[3] for row in rows) == 14  # the last second's, all from the app
    assert {row[1] for row in rows} == {"app"}
    if database.is_postgres:
        assert any("Index Scan using orders_by_launch_time on orders" in s for s in plan), plan
        assert not any("Seq Scan" in s for s in plan), plan
    else:
        assert any(
            "USING INDEX orders_by_launch_time (launch_id=? AND placed_at_us>?)" in s for s in plan
        ), plan
