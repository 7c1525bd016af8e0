"""A launch in its stores, for the tests of the report's and the dashboard's store figures:
three stores selling (two in Shanghai, one in Beijing, and another Beijing store that sells
nothing), store orders placed by their staff, online orders from the app, the web shop and
a partner, with the buyers' regions, and test drives held, confirmed, cancelled, lapsed,
marked done and missed, on a clock the test moves.

What the report must say of it, worked out by hand, is in `EXPECTED_*` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.support import Api, SettableClock
from tests.test_store_orders import store_order
from tests.test_test_drives import EVERY_DAY, as_key, hold, put_store, store_key

SLUG = "yu7-2025"
# Chaoyang opens at 07:00 in Shanghai: its first test drives start the day before in UTC,
# so a test drive falls on the wrong date if it is dated in UTC.
CHAOYANG_HOURS = [{"days": EVERY_DAY, "opens": "07:00", "closes": "14:00"}]


@dataclass
class StoreStaff:
    """The store keys of the scenario's staff, by store."""

    chaoyang: str
    pudong: str
    jingan: str


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def put_stores(api: Api) -> StoreStaff:
    put_store(api, "bj-chaoyang", hours=CHAOYANG_HOURS)
    put_store(api, "bj-haidian", name="Xiaomi Auto Beijing Haidian", lat=39.96, lon=116.30)
    put_store(api, "sh-pudong", name="Xiaomi Auto Shanghai Pudong", city="Shanghai",
              region="CN-SH", lat=31.22, lon=121.54, kinds=["sales", "delivery"],
              handover_bays=2, logistics_weeks=1)  # fmt: skip
    put_store(api, "sh-jingan", name="Xiaomi Auto Shanghai Jing'an", city="Shanghai",
              region="CN-SH", lat=31.23, lon=121.45)  # fmt: skip
    return StoreStaff(
        store_key(api, "wang-chaoyang", "bj-chaoyang"),
        store_key(api, "li-pudong", "sh-pudong"),
        store_key(api, "zhou-jingan", "sh-jingan"),
    )


def placed(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def booked(api: Api, customer: str, store: str, start: str, *, confirm: bool = True) -> str:
    """A test drive held (and confirmed) by `customer`; its id."""
    booking = placed(hold(api, customer, store, start))
    if confirm:
        path = f"/api/v1/test-drives/{booking['id']}/confirm"
        answer = api.post(path, headers=api.as_customer(customer))
        assert answer.status_code == 200, answer.text
    return str(booking["id"])


def mark(api: Api, key: str, store: str, booking: str, outcome: str) -> None:
    path = f"/api/v1/stores/{store}/test-drives/{booking}/{outcome}"
    answer = api.post(path, headers=as_key(key))
    assert answer.status_code == 200, answer.text


def launch_in_stores(api: Api, clock: SettableClock) -> StoreStaff:
    """The whole scenario, from 22 November 16:00 UTC to 5 December 02:00 UTC."""
    clock.now = utc("2026-11-22T16:00")
    api.create_launch()
    staff = put_stores(api)
    # An hour after opening: orders online and in three stores.
    placed(api.place("carol", profile={"region": "CN-SH"}))  # the app, before her test drive
    placed(api.place("dave", channel="partner"))
    placed(store_order(api, staff.chaoyang, "bj-chaoyang", "walk-in-1",
                       profile={"region": "CN-BJ"}, delivery_centre="sh-pudong"))  # fmt: skip
    placed(store_order(api, staff.chaoyang, "bj-chaoyang", "walk-in-2",
                       profile={"region": "cn-bj"}))  # fmt: skip
    placed(store_order(api, staff.pudong, "sh-pudong", "walk-in-4", profile={"region": "CN-SH"}))
    placed(store_order(api, staff.jingan, "sh-jingan", "walk-in-5"))
    # Test drives on the 23rd and the 24th (Shanghai time, UTC+8).
    alice = booked(api, "alice", "bj-chaoyang", "2026-11-22T23:00:00Z")  # 07:00 the 23rd
    erin = booked(api, "erin", "bj-chaoyang", "2026-11-22T23:00:00Z")
    frank = booked(api, "frank", "bj-chaoyang", "2026-11-23T00:00:00Z")  # 08:00
    ivan = booked(api, "ivan", "bj-chaoyang", "2026-11-24T02:00:00Z")  # 10:00 the 24th
    bob = booked(api, "bob", "sh-pudong", "2026-11-23T02:00:00Z")  # 10:00 the 23rd
    carol = booked(api, "carol", "sh-pudong", "2026-11-23T02:00:00Z")
    booked(api, "gina", "sh-pudong", "2026-11-23T03:00:00Z", confirm=False)  # lapses
    hank = booked(api, "hank", "sh-pudong", "2026-11-23T04:00:00Z")
    cancel = api.post(f"/api/v1/test-drives/{hank}/cancel", headers=api.as_customer("hank"))
    assert cancel.status_code == 200, cancel.text
    # The staff mark each test drive once it has begun.
    clock.now = utc("2026-11-22T23:01")
    mark(api, staff.chaoyang, "bj-chaoyang", alice, "done")
    mark(api, staff.chaoyang, "bj-chaoyang", erin, "done")
    clock.now = utc("2026-11-23T00:01")
    mark(api, staff.chaoyang, "bj-chaoyang", frank, "no-show")
    clock.now = utc("2026-11-23T02:01")
    mark(api, staff.pudong, "sh-pudong", bob, "done")
    mark(api, staff.pudong, "sh-pudong", carol, "done")
    clock.now = utc("2026-11-24T02:01")
    mark(api, staff.chaoyang, "bj-chaoyang", ivan, "done")
    # The next day: Alice orders on the web, Frank in the app; Ivan in the store, then
    # cancels inside his window.
    clock.now = utc("2026-11-24T03:00")
    placed(api.place("alice", channel="web", profile={"region": "CN-BJ"}))
    placed(api.place("frank", profile={"region": "CN-BJ"}))
    ivans = placed(store_order(api, staff.chaoyang, "bj-chaoyang", "ivan"))
    cancelled = api.post(
        f"/api/v1/stores/bj-chaoyang/orders/{ivans['id']}/cancel", headers=as_key(staff.chaoyang)
    )
    assert cancelled.status_code == 200, cancelled.text
    # Bob orders twelve days after his test drive, to be collected in Pudong.
    clock.now = utc("2026-12-05T02:00")
    placed(api.place("bob", channel="web", profile={"region": "CN-SH"},
                     delivery_centre="sh-pudong"))  # fmt: skip
    return staff


EXPECTED_CHANNELS = {"app": 2, "web": 2, "store": 5, "partner": 1}
# store, orders placed, as delivery centre, test drives booked, done, no-shows
EXPECTED_LEADERBOARD = [
    ("bj-chaoyang", 3, 0, 4, 3, 1),
    ("sh-pudong", 1, 2, 2, 2, 0),  # above Jing'an: as many orders, more test drives done
    ("sh-jingan", 1, 0, 0, 0, 0),
]
EXPECTED_DAYS = [
    ("bj-chaoyang", "2026-11-23", 3, 2),
    ("sh-pudong", "2026-11-23", 2, 2),
    ("bj-chaoyang", "2026-11-24", 1, 1),
]
# Alice, Erin, Bob, Carol and Ivan drove; Alice and Ivan ordered within 7 days (Ivan's
# order cancelled later: he placed it all the same). Of the 9 orders not cancelled, Alice's
# and Bob's came after their test drive; Carol's before hers, Frank missed his.
EXPECTED_CONVERSION = (5, 2, 9, 2)
# region: buyers' orders, store orders, sales stores
EXPECTED_REGIONS = {"CN-BJ": (4, 3, 2), "CN-SH": (3, 2, 2)}
BEIJING_MILLIONS = 21.89
SHANGHAI_MILLIONS = 24.87
