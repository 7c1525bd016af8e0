"""Stores and test drives through the API, on SQLite and PostgreSQL: stores kept and
listed, free slots from the hours and the fleet, holds that lapse, confirmations, moves
and cancellations, the per-buyer limit, the store's staff kept to their own store, and
the calendar entries read back with a real calendar parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from tests.support import Api, Database, SettableClock

SLUG = "yu7-2025"
SHANGHAI = ZoneInfo("Asia/Shanghai")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def store_body(**more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Xiaomi Auto Beijing Chaoyang",
        "kinds": ["sales"],
        "city": "Beijing",
        "region": "CN-BJ",
        "lat": 39.92,
        "lon": 116.46,
        "timezone": "Asia/Shanghai",
        "hours": [{"days": EVERY_DAY, "opens": "10:00", "closes": "14:00"}],
        "demo_cars": {"YU7-MAX": 2},
    }
    body.update(more)
    return body


def put_store(api: Api, store_id: str, **more: Any) -> dict[str, Any]:
    response = api.request(
        "PUT", f"/api/v1/stores/{store_id}", json=store_body(**more), headers=api.admin()
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def slots(api: Api, store: str, day: str = "2026-11-23", days: int = 1) -> list[dict[str, Any]]:
    path = f"/api/v1/launches/{SLUG}/stores/{store}/test-drive-slots"
    response = api.get(path, params={"sku": "YU7-MAX", "from": day, "days": days})
    assert response.status_code == 200, response.text
    return response.json()["slots"]  # type: ignore[no-any-return]


def hold(api: Api, customer: str, store: str, start: str) -> Any:
    return api.post(
        f"/api/v1/launches/{SLUG}/test-drives",
        json={"store": store, "sku": "YU7-MAX", "start": start},
        headers=api.as_customer(customer),
    )


def as_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def store_key(api: Api, name: str, store: str) -> str:
    made = api.post(
        "/api/v1/keys", json={"name": name, "role": "store", "store": store}, headers=api.admin()
    )
    assert made.status_code == 201, made.text
    return made.json()["key"]  # type: ignore[no-any-return]


def test_stores_are_kept_and_listed_by_region_kind_and_distance(api: Api) -> None:
    put_store(api, "bj-chaoyang")
    put_store(api, "bj-haidian", lat=39.96, lon=116.30, kinds=["sales", "delivery"],
              handover_bays=4, logistics_weeks=1)  # fmt: skip
    put_store(api, "sh-pudong", city="Shanghai", region="CN-SH", lat=31.22, lon=121.54)
    listed = api.get("/api/v1/stores", params={"region": "CN-BJ"}).json()["stores"]
    assert [s["id"] for s in listed] == ["bj-chaoyang", "bj-haidian"]
    delivery = api.get("/api/v1/stores", params={"kind": "delivery"}).json()["stores"]
    assert [s["id"] for s in delivery] == ["bj-haidian"]
    # From Shanghai's Bund: Pudong first, a few km away; Beijing's some 1,070 km on.
    near = api.get("/api/v1/stores", params={"near": "31.24,121.49"}).json()["stores"]
    assert [s["id"] for s in near] == ["sh-pudong", "bj-chaoyang", "bj-haidian"]
    assert near[0]["distance_km"] < 10
    assert 1000 < near[1]["distance_km"] < 1100
    one = api.get("/api/v1/stores/bj-haidian").json()
    assert one["store"]["handover_bays"] == 4
    assert one["store"]["hours"] == [{"days": EVERY_DAY, "opens": "10:00", "closes": "14:00"}]
    assert api.get("/api/v1/stores/nowhere").status_code == 404


def test_a_bad_store_is_refused_and_changes_nothing(api: Api, database: Database) -> None:
    put_store(api, "bj-chaoyang")
    before = database.snapshot()
    bad = [
        ({"region": "Beijing"}, "region"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"hours": [{"days": ["mon"], "opens": "14:00", "closes": "10:00"}]}, "hours"),
        ({"hours": [{"days": ["mon"], "opens": "10:00", "closes": "14:00"},
                    {"days": ["mon"], "opens": "13:00", "closes": "18:00"}]}, "hours"),
        ({"kinds": ["delivery"]}, "handover_bays"),
        ({"exceptions": [{"date": "2026-12-25", "opens": "10:00"}]}, "exceptions"),
        ({"lat": 91}, "lat"),
        ({"demo_cars": {"YU7-MAX": -1}}, "demo_cars[...]"),
    ]  # fmt: skip
    for change, field in bad:
        response = api.request(
            "PUT", "/api/v1/stores/bj-chaoyang", json=store_body(**change), headers=api.admin()
        )
        assert response.status_code == 422, (change, response.text)
        assert response.json()["error"]["field"] == field, change
    # An id stores cannot have is no store's path at all.
    refused = api.request("PUT", "/api/v1/stores/Bad_Id", json=store_body(), headers=api.admin())
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_found")
    anyone = api.request("PUT", "/api/v1/stores/x", json=store_body())
    assert anyone.status_code == 401
    buyer = api.request("PUT", "/api/v1/stores/x", json=store_body(), headers=api.as_customer("b"))
    assert buyer.status_code == 403
    for query in ({"kind": "garage"}, {"near": "north"}, {"near": "95,10"}, {"limit": "0"}):
        assert api.get("/api/v1/stores", params=query).status_code == 422, query
    assert database.snapshot() == before


def test_free_slots_come_from_the_hours_and_the_fleet(api: Api) -> None:
    api.create_launch()
    put_store(api, "bj-chaoyang", exceptions=[{"date": "2026-11-24"}],
              hours=[{"days": EVERY_DAY, "opens": "10:00", "closes": "12:00"},
                     {"days": ["tue"], "opens": "13:00", "closes": "14:30"}])  # fmt: skip
    # Monday the 23rd: 10:00-12:00 in Shanghai, an hour each; Tuesday closed (exception).
    two_days = slots(api, "bj-chaoyang", "2026-11-23", 3)
    starts = [datetime.fromisoformat(s["start"]).astimezone(SHANGHAI) for s in two_days]
    assert [(s.day, s.hour) for s in starts] == [(23, 10), (23, 11), (25, 10), (25, 11)]
    assert {s["free"] for s in two_days} == {2}
    path = f"/api/v1/launches/{SLUG}/stores/bj-chaoyang/test-drive-slots"
    for query, field in (({"sku": "YU7-MAX", "days": "0"}, "days"),
                         ({"sku": "YU7-MAX", "from": "monday"}, "from"),
                         ({}, "sku"), ({"sku": "YU7-LTD"}, "store")):  # fmt: skip
        refused = api.get(path, params=query)
        assert refused.status_code == 422, query
        assert refused.json()["error"]["field"] == field
    unknown = api.get(f"/api/v1/launches/{SLUG}/stores/nowhere/test-drive-slots?sku=YU7-MAX")
    assert unknown.status_code == 404


def test_a_hold_is_confirmed_moved_and_cancelled_and_a_lapsed_hold_frees_its_place(
    api: Api, clock: SettableClock
) -> None:
    api.create_launch()
    put_store(api, "bj-chaoyang")
    first, second = slots(api, "bj-chaoyang")[:2]
    held = hold(api, "alice", "bj-chaoyang", first["start"])
    assert held.status_code == 201, held.text
    booking = held.json()
    assert booking["status"] == "held"
    assert datetime.fromisoformat(booking["held_until"]) == clock.now + timedelta(minutes=5)
    again = hold(api, "alice", "bj-chaoyang", first["start"])
    assert (again.status_code, again.json()["id"]) == (200, booking["id"])
    # One upcoming test drive per buyer in this launch.
    assert hold(api, "alice", "bj-chaoyang", second["start"]).status_code == 409
    assert hold(api, "bob", "bj-chaoyang", first["start"]).status_code == 201
    full = hold(api, "carol", "bj-chaoyang", first["start"])
    assert (full.status_code, full.json()["error"]["code"]) == (409, "sold_out")
    assert slots(api, "bj-chaoyang")[0]["free"] == 0
    # Bob's hold lapses unconfirmed: his place is Carol's.
    clock.advance(minutes=3)
    me = api.as_customer("alice")
    confirmed = api.post(f"/api/v1/test-drives/{booking['id']}/confirm", headers=me)
    assert confirmed.json()["status"] == "confirmed"
    clock.advance(minutes=3)
    assert hold(api, "carol", "bj-chaoyang", first["start"]).status_code == 201
    bobs = api.get(f"/api/v1/launches/{SLUG}/test-drives", headers=api.as_customer("bob"))
    lapsed = bobs.json()["bookings"][0]
    assert lapsed["status"] == "expired"
    late = api.post(f"/api/v1/test-drives/{lapsed['id']}/confirm", headers=api.as_customer("bob"))
    assert (late.status_code, late.json()["error"]["code"]) == (409, "booking_closed")
    # Alice moves to the next hour: her place in the first is free again.
    moved = api.post(
        f"/api/v1/test-drives/{booking['id']}/reschedule", json={"start": second["start"]},
        headers=me,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert (moved.json()["start"], moved.json()["status"]) == (second["start"], "confirmed")
    assert [s["free"] for s in slots(api, "bj-chaoyang")[:2]] == [1, 1]
    # Someone else's booking is not found, never a hint.
    other = api.get(f"/api/v1/test-drives/{booking['id']}", headers=api.as_customer("bob"))
    assert other.status_code == 404
    cancelled = api.post(f"/api/v1/test-drives/{booking['id']}/cancel", headers=me)
    assert cancelled.json()["status"] == "cancelled"
    assert [s["free"] for s in slots(api, "bj-chaoyang")[:2]] == [1, 2]
    assert hold(api, "alice", "bj-chaoyang", second["start"]).status_code == 201


def test_bad_holds_are_refused_and_change_nothing(
    api: Api, database: Database, clock: SettableClock
) -> None:
    api.create_launch()
    put_store(api, "bj-chaoyang")
    open_slot = slots(api, "bj-chaoyang")[0]["start"]
    before = database.snapshot()
    for store, start, status, field in (
        ("bj-chaoyang", "2026-11-23T02:30:00Z", 422, "start"),  # between slots
        ("bj-chaoyang", "2026-11-23T08:00:00Z", 422, "start"),  # 16:00 local: closed
        ("bj-chaoyang", "2026-11-22T02:00:00Z", 422, "start"),  # passed
        ("nowhere", open_slot, 404, "store"),
    ):
        refused = hold(api, "alice", store, start)
        assert refused.status_code == status, (start, refused.text)
        assert refused.json()["error"]["field"] == field
    naive = hold(api, "alice", "bj-chaoyang", "2026-11-23T10:00")  # no time zone
    assert naive.status_code == 422
    assert database.snapshot() == before


def test_staff_see_and_mark_only_their_own_stores_test_drives(
    api: Api, clock: SettableClock
) -> None:
    api.create_launch()
    put_store(api, "bj-chaoyang")
    put_store(api, "bj-haidian")
    a = hold(api, "alice", "bj-chaoyang", slots(api, "bj-chaoyang")[0]["start"]).json()
    b = hold(api, "bob", "bj-haidian", slots(api, "bj-haidian")[0]["start"]).json()
    for customer, booking in (("alice", a), ("bob", b)):
        path = f"/api/v1/test-drives/{booking['id']}/confirm"
        assert api.post(path, headers=api.as_customer(customer)).status_code == 200
    staff = as_key(store_key(api, "chaoyang-desk", "bj-chaoyang"))
    day = {"date": "2026-11-23"}
    mine = api.get("/api/v1/stores/bj-chaoyang/test-drives", params=day, headers=staff)
    assert [x["id"] for x in mine.json()["bookings"]] == [a["id"]]
    theirs = api.get("/api/v1/stores/bj-haidian/test-drives", params=day, headers=staff)
    assert theirs.status_code == 403
    assert api.get(f"/api/v1/test-drives/{b['id']}", headers=staff).status_code == 404
    assert api.get(f"/api/v1/test-drives/{a['id']}", headers=staff).status_code == 200
    feed = api.get("/api/v1/stores/bj-haidian/calendar.ics", params=day, headers=staff)
    assert feed.status_code == 403
    mark = f"/api/v1/stores/bj-chaoyang/test-drives/{a['id']}"
    early = api.post(f"{mark}/done", headers=staff)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "booking_closed")
    other = api.post(f"/api/v1/stores/bj-haidian/test-drives/{b['id']}/done", headers=staff)
    assert other.status_code == 403
    assert api.post(f"{mark}/done", headers=api.as_customer("alice")).status_code == 403
    clock.advance(hours=11)  # 10:00 in Shanghai: the test drive has begun
    done = api.post(f"{mark}/done", headers=staff)
    assert (done.json()["status"], done.json()["staff"]) == ("done", "chaoyang-desk")
    assert api.post(f"{mark}/no-show", headers=staff).status_code == 409
    audit = api.get("/api/v1/audit", params={"key": "chaoyang-desk"}, headers=api.admin())
    assert [(e["method"], e["path"]) for e in audit.json()["entries"]] == [("POST", f"{mark}/done")]


def test_the_calendar_entries_parse_and_keep_the_stores_time_zone(api: Api) -> None:
    api.create_launch()
    put_store(api, "bj-chaoyang")
    first = slots(api, "bj-chaoyang")[0]
    booking = hold(api, "alice", "bj-chaoyang", first["start"]).json()
    me = api.as_customer("alice")
    api.post(f"/api/v1/test-drives/{booking['id']}/confirm", headers=me)
    entry = api.get(f"/api/v1/test-drives/{booking['id']}/calendar.ics", headers=me)
    assert entry.status_code == 200
    assert entry.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(entry.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    start = events[0].decoded("dtstart")
    assert start == datetime.fromisoformat(first["start"])
    assert str(start.tzinfo) == "Asia/Shanghai"
    assert (start.astimezone(SHANGHAI).hour, start.utcoffset()) == (10, timedelta(hours=8))
    assert events[0].decoded("dtend") - start == timedelta(minutes=60)
    assert str(events[0]["status"]) == "CONFIRMED"
    assert str(events[0]["uid"]) == f"{booking['id']}@launchday"
    assert [str(z["tzid"]) for z in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    # The store's day as a feed for its staff.
    staff = as_key(store_key(api, "chaoyang-desk", "bj-chaoyang"))
    feed = api.get("/api/v1/stores/bj-chaoyang/calendar.ics?date=2026-11-23", headers=staff)
    day = icalendar.Calendar.from_ical(feed.content)
    assert [str(e["uid"]) for e in day.walk("VEVENT")] == [f"{booking['id']}@launchday"]
    assert api.get(f"/api/v1/test-drives/{booking['id']}/calendar.ics").status_code == 401


def test_bookings_open_with_registered_interest(api: Api, clock: SettableClock) -> None:
    later = clock.now + timedelta(days=2)
    api.create_launch(opens_at=later + timedelta(days=5), interest_opens_at=later.isoformat())
    put_store(api, "bj-chaoyang")
    first = slots(api, "bj-chaoyang", "2026-11-25")[0]["start"]
    early = hold(api, "alice", "bj-chaoyang", first)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_open")
    clock.now = later.astimezone(UTC)
    assert hold(api, "alice", "bj-chaoyang", first).status_code == 201
