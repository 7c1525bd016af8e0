"""Delivery centres and handovers, on SQLite and PostgreSQL: the centre chosen when
ordering or later adds its logistics weeks to the promise, changes until the handover is
booked, and once the car is built the buyer books a handover slot there, never past the
centre's bays (raced over real HTTP too), with a calendar entry; the centre's staff mark
it done."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar

from tests.support import (
    ADMIN_KEY,
    Api,
    Database,
    SettableClock,
    customer_token,
    launch_body,
    servers,
)
from tests.test_delivery_api import MONDAY, plan, put_plan, variants
from tests.test_test_drives import EVERY_DAY, as_key, put_store, store_key

SLUG = "yu7-2025"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def centre(api: Api, store_id: str, logistics_weeks: int, bays: int = 1) -> None:
    put_store(api, store_id, kinds=["sales", "delivery"], handover_bays=bays,
              handover_minutes=60, logistics_weeks=logistics_weeks)  # fmt: skip


def order_of(api: Api, customer: str, order_id: str) -> dict[str, Any]:
    read = api.get(f"/api/v1/orders/{order_id}", headers=api.as_customer(customer))
    assert read.status_code == 200, read.text
    return read.json()  # type: ignore[no-any-return]


def choose(api: Api, customer: str, order_id: str, centre_id: str) -> httpx.Response:
    return api.request(
        "PUT",
        f"/api/v1/orders/{order_id}/delivery-centre",
        json={"delivery_centre": centre_id},
        headers=api.as_customer(customer),
    )


def book(api: Api, customer: str, order_id: str, start: str) -> httpx.Response:
    return api.post(
        f"/api/v1/orders/{order_id}/handover",
        json={"start": start},
        headers=api.as_customer(customer),
    )


def handover_slots(api: Api, customer: str, order_id: str, days: int = 2) -> httpx.Response:
    return api.get(
        f"/api/v1/orders/{order_id}/handover-slots",
        params={"days": days},
        headers=api.as_customer(customer),
    )


def test_the_centre_adds_its_weeks_and_its_handover_is_booked_once_the_car_is_built(
    api: Api, database: Database, clock: SettableClock
) -> None:
    api.create_launch(variants=variants("YU7-MAX"), per_customer_limit=1)
    put_plan(api, plan(100, ["YU7-MAX"]))  # built in week 0, two weeks' lag, three wide
    centre(api, "bj-centre", logistics_weeks=1)
    centre(api, "sh-centre", logistics_weeks=2)
    put_store(api, "bj-sales")  # sells, hands nothing over
    plain = api.place("dan")
    assert plain.json()["delivery_estimate"]["weeks"] == [2, 5]
    placed = api.place("alice", delivery_centre="bj-centre")
    assert placed.status_code == 201, placed.text
    alice = placed.json()
    promised = alice["delivery_estimate"]
    assert (alice["delivery_centre"], promised["weeks"], promised["logistics_weeks"]) == (
        "bj-centre", [3, 6], 1,
    )  # fmt: skip
    week_0 = date.fromisoformat(MONDAY)
    assert promised["from"] == (week_0 + timedelta(weeks=3)).isoformat()
    moved = choose(api, "alice", alice["id"], "sh-centre")
    assert moved.status_code == 200, moved.text
    assert moved.json()["delivery_estimate"]["weeks"] == [4, 7]
    assert order_of(api, "alice", alice["id"])["delivery_estimate"]["weeks"] == [4, 7]
    trail = api.get(f"/api/v1/orders/{alice['id']}/history", headers=api.as_customer("alice"))
    assert trail.json()["events"][-1]["detail"] == "delivery centre sh-centre"
    bob = api.place("bob", delivery_centre="sh-centre").json()
    # What a new order would be promised, at the plant and at a centre two weeks away.
    quotes = f"/api/v1/launches/{SLUG}/delivery"
    plant = api.get(quotes).json()["variants"][0]["estimate"]["weeks"]
    at_sh = api.get(quotes, params={"centre": "sh-centre"}).json()
    assert at_sh["centre"] == "sh-centre"
    assert at_sh["variants"][0]["estimate"]["weeks"] == [w + 2 for w in plant]
    for centre_id, status in (("nowhere", 404), ("bj-sales", 422)):
        refused = api.get(quotes, params={"centre": centre_id})
        assert (refused.status_code, refused.json()["error"]["field"]) == (status, "centre")

    # Not built yet: no handover slots, no booking.
    early = handover_slots(api, "alice", alice["id"])
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_ready")
    # Week 0 ends (Monday 30 November, midnight in Shanghai): the cars are built. Slots
    # begin on the first day the car can be at the centre: week 4 from week 0.
    clock.advance(days=7, minutes=1)
    listed = handover_slots(api, "alice", alice["id"])
    assert listed.status_code == 200, listed.text
    slots = listed.json()["slots"]
    first_day = week_0 + timedelta(weeks=4)
    assert datetime.fromisoformat(slots[0]["start"]).astimezone(SHANGHAI).date() == first_day
    assert {s["free"] for s in slots} == {1}
    first, second = slots[0]["start"], slots[1]["start"]
    booked = book(api, "alice", alice["id"], first)
    assert booked.status_code == 201, booked.text
    handover = booked.json()
    assert (handover["kind"], handover["status"], handover["order_id"]) == (
        "handover", "confirmed", alice["id"],
    )  # fmt: skip
    assert book(api, "alice", alice["id"], first).status_code == 200  # a retry
    full = book(api, "bob", bob["id"], first)
    assert (full.status_code, full.json()["error"]["code"]) == (409, "sold_out")
    assert book(api, "bob", bob["id"], second).status_code == 201
    assert [s["free"] for s in handover_slots(api, "alice", alice["id"]).json()["slots"][:2]] == [
        0,
        0,
    ]
    # Scheduled for handover: the centre no longer changes, until the slot is given up.
    closed = choose(api, "alice", alice["id"], "bj-centre")
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "booking_closed")
    # Moved to a later slot: the first is free again.
    later = slots[2]["start"]
    assert book(api, "alice", alice["id"], later).json()["start"] == later
    assert handover_slots(api, "bob", bob["id"]).json()["slots"][0]["free"] == 1
    # Its calendar entry, in the centre's zone.
    me = api.as_customer("alice")
    calendar = api.get(handover["calendar"], headers=me)
    assert calendar.status_code == 200, calendar.text
    event = next(iter(icalendar.Calendar.from_ical(calendar.content).walk("VEVENT")))
    assert event.decoded("dtstart") == datetime.fromisoformat(later)
    assert str(event.decoded("dtstart").tzinfo) == "Asia/Shanghai"
    assert str(event["summary"]).startswith("Handover: YU7-MAX")
    given_up = api.post(f"/api/v1/orders/{alice['id']}/handover/cancel", headers=me)
    assert given_up.json()["status"] == "cancelled"
    assert api.get(f"/api/v1/orders/{alice['id']}/handover", headers=me).status_code == 404
    assert choose(api, "alice", alice["id"], "bj-centre").status_code == 200

    # The centre's staff mark Bob's handover done once it has begun; others cannot.
    staff = store_key(api, "chen-centre", "sh-centre")
    other = store_key(api, "wu-elsewhere", "bj-centre")
    bobs = api.get(f"/api/v1/orders/{bob['id']}/handover", headers=api.as_customer("bob")).json()
    mark = f"/api/v1/stores/sh-centre/handovers/{bobs['id']}/done"
    assert api.post(mark, headers=as_key(other)).status_code == 403
    too_soon = api.post(mark, headers=as_key(staff))
    assert (too_soon.status_code, too_soon.json()["error"]["code"]) == (409, "booking_closed")
    clock.now = datetime.fromisoformat(bobs["start"]).astimezone(UTC) + timedelta(minutes=5)
    done = api.post(mark, headers=as_key(staff))
    assert (done.status_code, done.json()["status"]) == (200, "done")
    handed = choose(api, "bob", bob["id"], "bj-centre")
    assert (handed.status_code, handed.json()["error"]["code"]) == (409, "booking_closed")
    day = api.get(
        "/api/v1/stores/sh-centre/test-drives",
        params={"date": datetime.fromisoformat(bobs["start"]).astimezone(SHANGHAI).date()},
        headers=as_key(staff),
    )
    on_the_day = {b["id"]: (b["kind"], b["status"]) for b in day.json()["bookings"]}
    assert on_the_day == {
        bobs["id"]: ("handover", "done"),
        handover["id"]: ("handover", "cancelled"),
    }


def test_bad_handover_requests_are_refused_and_change_nothing(
    api: Api, database: Database, clock: SettableClock
) -> None:
    api.create_launch(variants=variants("YU7-MAX"))
    put_plan(api, plan(100, ["YU7-MAX"]))
    centre(api, "bj-centre", logistics_weeks=1)
    put_store(api, "bj-sales")  # sells, hands nothing over
    alice = api.place("alice", delivery_centre="bj-centre").json()
    carol = api.place("carol").json()  # no centre yet
    clock.advance(days=7, minutes=1)
    slots = handover_slots(api, "alice", alice["id"]).json()["slots"]
    before = database.snapshot()
    too_early = (datetime.fromisoformat(slots[0]["start"]) - timedelta(days=1)).isoformat()
    off_grid = (datetime.fromisoformat(slots[0]["start"]) + timedelta(minutes=7)).isoformat()
    for customer, order, start, status, field in (
        ("alice", alice["id"], too_early, 422, "start"),
        ("alice", alice["id"], off_grid, 422, "start"),
        ("carol", carol["id"], slots[0]["start"], 422, "delivery_centre"),
        ("bob", alice["id"], slots[0]["start"], 404, "id"),
        ("alice", "nope", slots[0]["start"], 404, "id"),
    ):
        refused = book(api, customer, order, start)
        assert refused.status_code == status, (customer, start, refused.text)
        assert refused.json()["error"]["field"] == field
    for centre_id, status in (("bj-sales", 422), ("nowhere", 404)):
        refused = choose(api, "carol", carol["id"], centre_id)
        assert refused.status_code == status, refused.text
        assert refused.json()["error"]["field"] == "delivery_centre"
    assert choose(api, "bob", carol["id"], "bj-centre").status_code == 404
    bad_body = api.post(
        f"/api/v1/orders/{alice['id']}/handover", json={"start": "tomorrow"},
        headers=api.as_customer("alice"),
    )  # fmt: skip
    assert bad_body.status_code == 422
    assert handover_slots(api, "bob", alice["id"]).status_code == 404
    assert database.snapshot() == before


# --- the race, over real HTTP ------------------------------------------------------------

BUYERS = 40
BAYS = 2
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _race_set_up(base: str) -> list[str]:
    """A launch of cars from stock, firm at once (ready for handover when ordered), a
    centre with two bays, and its first two slots tomorrow."""
    with httpx.Client(base_url=base, timeout=30) as client:
        body = launch_body(opens_at=datetime.now(UTC) - timedelta(hours=1))
        body["variants"] = [{"sku": "YU7-MAX", "name": "YU7 Max", "price": 329900,
                             "deposit": {"amount": 5000, "refundable_hours": 0}}]  # fmt: skip
        assert client.post("/api/v1/launches", json=body, headers=ADMIN).status_code == 201
        store = {
            "name": "Race centre", "kinds": ["delivery"], "city": "Beijing", "region": "CN-BJ",
            "lat": 39.9, "lon": 116.4, "timezone": "Asia/Shanghai", "handover_bays": BAYS,
            "hours": [{"days": EVERY_DAY, "opens": "10:00", "closes": "12:00"}],
            "handover_minutes": 60,
        }  # fmt: skip
        assert client.put("/api/v1/stores/race", json=store, headers=ADMIN).status_code == 200
    return []


def _racer(base: str, n: int, starts: list[str]) -> tuple[int, str | None]:
    me = {"Authorization": f"Bearer {customer_token(f'racer-{n}')}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        placed = client.post(
            f"/api/v1/launches/{SLUG}/orders",
            json={"sku": "YU7-MAX", "delivery_centre": "race"},
            headers={**me, "Idempotency-Key": f"race-{n}"},
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()["id"]
        if not starts:
            tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
            listed = client.get(
                f"/api/v1/orders/{order}/handover-slots",
                params={"from": tomorrow, "days": 1},
                headers=me,
            )
            assert listed.status_code == 200, listed.text
            starts = [s["start"] for s in listed.json()["slots"]]
        booked = client.post(
            f"/api/v1/orders/{order}/handover", json={"start": starts[n % 2]}, headers=me
        )
        if booked.status_code != 201:
            assert (booked.status_code, booked.json()["error"]["code"]) == (409, "sold_out")
            return booked.status_code, None
        return booked.status_code, booked.json()["id"]


def test_40_buyers_race_for_4_handover_bays_and_exactly_4_are_booked(
    database: Database, tmp_path: Path
) -> None:
    processes = 2 if database.is_postgres else 1
    with servers(database, processes, tmp_path) as bases:
        starts = _race_set_up(bases[0])
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(
                pool.map(lambda n: _racer(bases[n % len(bases)], n, starts), range(BUYERS))
            )
    booked = [booking for _status, booking in results if booking is not None]
    assert len(booked) == 2 * BAYS
    per_slot = database.query(
        "SELECT start_us, count(*) FROM bookings WHERE kind = 'handover'"
        " AND status = 'confirmed' GROUP BY start_us"
    )
    assert sorted(count for _, count in per_slot) == [BAYS, BAYS]
