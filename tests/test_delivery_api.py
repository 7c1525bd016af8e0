"""The production plan and the delivery promise over HTTP, on SQLite and PostgreSQL,
against figures worked by hand (docs/delivery.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from rich.console import Console

from launchday.analytics.report import Report
from launchday.analytics.report_files import write_report_files
from launchday.analytics.report_text import print_report
from launchday.services import promise_keeper
from tests.support import Api, Database, SettableClock, in_process

SLUG = "yu7-2025"
PRODUCTION = f"/api/v1/launches/{SLUG}/production"
# The test clock reads 2026-11-22 16:00 UTC: Monday 2026-11-23, 00:00 in Shanghai, the
# first day of week 0.
MONDAY = "2026-11-23"
LOCKED_AT_ONCE = {"amount": 5000, "refundable_hours": 0}


def variants(*skus: str, window_hours: float = 0) -> list[dict[str, Any]]:
    deposit = {"amount": 5000, "refundable_hours": window_hours}
    return [{"sku": sku, "name": sku, "price": 250000, "deposit": deposit} for sku in skus]


def plan(capacity: int, skus: list[str], **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "weeks_start": MONDAY,
        "timezone": "Asia/Shanghai",
        "delivery_lag_weeks": 2,
        "window_weeks": 3,
        "lines": [
            {"id": "yz", "skus": skus, "capacity": [{"from_week": 0, "cars_per_week": capacity}]}
        ],
    }
    body.update(more)
    return body


def put_plan(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.request("PUT", PRODUCTION, json=body, headers=api.admin())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def place_all(api: Api, skus: list[str], first: int = 0) -> list[dict[str, Any]]:
    placed = []
    for i, sku in enumerate(skus, start=first):
        response = api.place(f"c-{i}", sku)
        assert response.status_code == 201, response.text
        placed.append(response.json())
    return placed


def estimate(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/api/v1/orders/{order['id']}", headers=api.as_customer(order["customer"]))
    assert response.status_code == 200, response.text
    return response.json()["delivery_estimate"]  # type: ignore[no-any-return]


def test_a_line_of_100_a_week_builds_the_kth_locked_order_in_week_k_minus_1_over_100(
    api: Api,
) -> None:
    api.create_launch(variants=variants("YU7-MAX"), per_customer_limit=1)
    put_plan(api, plan(100, ["YU7-MAX"]))
    placed = place_all(api, ["YU7-MAX"] * 1000)
    for k, order in enumerate(placed, start=1):
        promised = order["delivery_estimate"]  # in the 201, from the queue's tail
        assert promised["build_week"] == (k - 1) // 100, k
        assert promised["queue_position"] == k
    for k in (1, 100, 101, 555, 1000):
        read = estimate(api, placed[k - 1])
        week = (k - 1) // 100
        assert read["build_week"] == week
        assert read["weeks"] == [week + 2, week + 5]  # two weeks' lag, a three-week window
        assert read["set_by"] == {"kind": "line", "id": "yz", "supplier": None}
        assert read["if_locked_now"] is None  # locked at once: nothing to compare
    last = estimate(api, placed[-1])
    assert (last["from"], last["to"]) == ("2027-02-08", "2027-03-01")  # week 11, 3 weeks on


def test_a_trim_short_of_batteries_waits_while_the_other_takes_the_line(api: Api) -> None:
    api.create_launch(variants=variants("YU7-STD", "YU7-MAX"), per_customer_limit=1)
    pack = {
        "id": "pack-lfp",
        "per_car": {"YU7-STD": 1},
        "on_hand": 0,
        "suppliers": [{"id": "fudi", "supply": [{"from_week": 0, "units_per_week": 4}]}],
    }
    put_plan(api, plan(10, ["YU7-STD", "YU7-MAX"], components=[pack]))
    placed = place_all(api, ["YU7-STD"] * 10 + ["YU7-MAX"] * 10)
    weeks = [estimate(api, order)["build_week"] for order in placed]
    assert weeks == [0] * 4 + [1] * 4 + [2] * 2 + [0] * 6 + [1] * 4
    assert estimate(api, placed[9])["set_by"] == {
        "kind": "component",
        "id": "pack-lfp",
        "supplier": "fudi",
    }
    assert estimate(api, placed[19])["set_by"]["kind"] == "line"
    assert [o["delivery_estimate"]["build_week"] for o in placed] == weeks  # the 201s agree


# Stored in one write, and a promise a write (as a re-promise of a launch night's
# promises is stored, part by part): each move listed and told once either way.
@pytest.mark.parametrize("save_rows", [promise_keeper.SAVE_ROWS, 1])
def test_a_cancellation_ahead_moves_the_orders_behind_and_is_listed(
    api: Api, save_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(promise_keeper, "SAVE_ROWS", save_rows)
    api.create_launch(variants=variants("YU7-MAX", window_hours=168), per_customer_limit=1)
    put_plan(api, plan(2, ["YU7-MAX"]))
    placed = place_all(api, ["YU7-MAX"] * 6)
    # Reserved: each counts from its window's end, a week on, so building starts in week 1.
    assert [estimate(api, o)["build_week"] for o in placed] == [1, 1, 2, 2, 3, 3]
    second = placed[1]
    cancelled = api.post(
        f"/api/v1/orders/{second['id']}/cancel", headers=api.as_customer(second["customer"])
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["delivery_estimate"] is None
    assert [estimate(api, o)["build_week"] for o in placed if o is not second] == [1, 1, 2, 2, 3]
    changes = api.get(f"/api/v1/launches/{SLUG}/delivery/changes", headers=api.admin()).json()
    moved = {c["order"]: c for c in changes["changes"]}
    assert set(moved) == {placed[2]["id"], placed[4]["id"]}
    assert moved[placed[2]["id"]]["cause"] == "an order was cancelled"
    old, new = moved[placed[4]["id"]]["old_weeks"], moved[placed[4]["id"]]["new_weeks"]
    assert (new[0], new[1]) == (old[0] - 1, old[1] - 1)
    # The buyer's own trail says so too, after the placement.
    fifth = placed[4]
    trail = api.get(
        f"/api/v1/orders/{fifth['id']}/history", headers=api.as_customer(fifth["customer"])
    ).json()["events"]
    assert [e["by"] for e in trail] == ["customer", "production"]
    assert trail[1]["status"] == "reserved"
    assert trail[1]["delivery"] == {
        "old_weeks": old,
        "new_weeks": new,
        "cause": "an order was cancelled",
    }
    assert (
        trail[1]["detail"]
        == f"delivery weeks {old[0]}-{old[1]} -> {new[0]}-{new[1]}: an order was cancelled"
    )
    untouched = api.get(
        f"/api/v1/orders/{placed[0]['id']}/history", headers=api.as_customer(placed[0]["customer"])
    ).json()["events"]
    assert [e["by"] for e in untouched] == ["customer"]


def test_locking_early_moves_an_order_up_as_its_estimate_said(api: Api) -> None:
    api.create_launch(variants=variants("YU7-MAX", window_hours=168), per_customer_limit=1)
    put_plan(api, plan(1, ["YU7-MAX"]))
    placed = place_all(api, ["YU7-MAX"] * 4)
    last = estimate(api, placed[3])
    assert last["build_week"] == 4
    said = last["if_locked_now"]["weeks"]
    assert said[0] < last["weeks"][0]
    locked = api.post(
        f"/api/v1/orders/{placed[3]['id']}/lock", headers=api.as_customer(placed[3]["customer"])
    )
    assert locked.status_code == 200, locked.text
    now = estimate(api, placed[3])
    assert now["build_week"] == 0
    assert now["weeks"] == said
    assert now["if_locked_now"] is None
    assert [estimate(api, o)["build_week"] for o in placed[:3]] == [1, 2, 3]
    changes = api.get(f"/api/v1/launches/{SLUG}/delivery/changes", headers=api.admin()).json()
    # Nobody ahead was built before week 1, so the car that locked takes week 0 alone.
    assert [c["order"] for c in changes["changes"]] == [placed[3]["id"]]
    assert changes["changes"][0]["cause"] == "an order locked early"
    assert changes["changes"][0]["new_weeks"] == said


def test_locks_and_orders_in_turn_are_promised_at_once_and_kept_true(
    api: Api, clock: SettableClock
) -> None:
    """Early locks and new orders answered while the re-promise runs behind them. A lock's
    answer is the promise the queue scheduled again gives (at the back of the orders
    locked before it); a new order's may be later, never earlier (the locks it did not
    wait for only free room), and then its move is recorded once, as for any order."""
    api.create_launch(variants=variants("YU7-MAX", window_hours=168), per_customer_limit=1)
    put_plan(api, plan(3, ["YU7-MAX"]))
    placed = place_all(api, ["YU7-MAX"] * 12)
    lockers = placed[::-2]  # the last first: each passes the others
    told: dict[str, dict[str, Any]] = {}
    newer = []
    for turn, order in enumerate(lockers):
        clock.advance(seconds=1)  # locks a second apart: the later behind the earlier
        locked = api.post(
            f"/api/v1/orders/{order['id']}/lock", headers=api.as_customer(order["customer"])
        )
        assert locked.status_code == 200, locked.text
        told[order["id"]] = locked.json()["delivery_estimate"]
        newer.extend(place_all(api, ["YU7-MAX"], first=100 + turn))
    assert [told[o["id"]]["build_week"] for o in lockers] == [0, 0, 0, 1, 1, 1]
    for order in lockers:
        now = estimate(api, order)
        assert (now["weeks"], now["queue_position"]) == (
            told[order["id"]]["weeks"],
            told[order["id"]]["queue_position"],
        )
    changes = api.get(
        f"/api/v1/launches/{SLUG}/delivery/changes?since=2026-11-01T00:00:00Z",
        headers=api.admin(),
    ).json()["changes"]
    moved: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        moved.setdefault(change["order"], []).append(change)
    for order in lockers:  # once each that moved: the lock's answer was already right
        before, after = order["delivery_estimate"]["weeks"], told[order["id"]]["weeks"]
        expected = [] if before == after else [(before, after, "an order locked early")]
        found = moved.get(order["id"], [])
        assert [(c["old_weeks"], c["new_weeks"], c["cause"]) for c in found] == expected
    assert sum(1 for o in lockers if o["id"] in moved) == 5  # all but one came earlier
    for order in newer:
        first, now = order["delivery_estimate"], estimate(api, order)
        assert now["build_week"] <= first["build_week"]
        if now["weeks"] != first["weeks"]:
            assert [(c["old_weeks"], c["new_weeks"]) for c in moved[order["id"]]] == [
                (first["weeks"], now["weeks"])
            ]
    assert any(o["delivery_estimate"]["weeks"] != estimate(api, o)["weeks"] for o in newer)


def test_more_capacity_re_promises_every_order_and_a_new_order_is_quoted(api: Api) -> None:
    api.create_launch(variants=variants("YU7-MAX"), per_customer_limit=1)
    put_plan(api, plan(2, ["YU7-MAX"]))
    placed = place_all(api, ["YU7-MAX"] * 6)
    quote = api.get(f"/api/v1/launches/{SLUG}/delivery").json()
    assert quote["variants"][0]["sku"] == "YU7-MAX"
    assert quote["variants"][0]["estimate"]["build_week"] == 3  # the seventh car
    put_plan(api, plan(3, ["YU7-MAX"]))
    assert [estimate(api, o)["build_week"] for o in placed] == [0, 0, 0, 1, 1, 1]
    changes = api.get(
        f"/api/v1/launches/{SLUG}/delivery/changes?since=2026-11-01T00:00:00Z",
        headers=api.admin(),
    ).json()["changes"]
    assert {c["order"] for c in changes} == {placed[i]["id"] for i in (2, 4, 5)}
    assert {c["cause"] for c in changes} == {"the production plan changed"}
    assert (
        api.get(f"/api/v1/launches/{SLUG}/delivery").json()["variants"][0]["estimate"]["build_week"]
        == 2
    )


def test_a_new_order_is_quoted_for_a_later_placement(api: Api) -> None:
    api.create_launch(variants=variants("YU7-MAX"), per_customer_limit=1)
    put_plan(api, plan(2, ["YU7-MAX"]))
    place_all(api, ["YU7-MAX"] * 6)
    path = f"/api/v1/launches/{SLUG}/delivery"
    now = api.get(path).json()
    assert now["variants"][0]["estimate"]["build_week"] == 3
    # Placed on the Monday of week 5 (Shanghai), it locks then: the line is free by then,
    # so it is built that week and delivered two weeks later, weeks 2-5 after placement.
    later = api.get(path, params={"at": "2026-12-27T16:00:00Z"}).json()
    assert later["at"] == "2026-12-27T16:00:00Z"
    assert later["variants"][0]["estimate"]["build_week"] == 5
    assert later["variants"][0]["estimate"]["weeks"] == [2, 5]
    for bad in ("2026-11-01T00:00:00Z", "tomorrow", "2026-12-27T16:00:00"):
        refused = api.get(path, params={"at": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["field"] == "at"


def test_the_plan_is_kept_and_read_back(database: Database, clock: SettableClock) -> None:
    body = plan(100, ["YU7-MAX"], priority_skus=["YU7-LTD"])
    body["lines"].append(
        {"id": "ltd", "skus": ["YU7-LTD"], "capacity": [{"from_week": 2, "cars_per_week": 10}]}
    )
    with in_process(database.settings(), clock) as (api, _app):
        api.create_launch()
        assert api.get(PRODUCTION, headers=api.admin()).status_code == 404
        put_plan(api, body)
        order = api.place("ada", "YU7-LTD").json()
    with in_process(database.settings(), clock) as (api, _app):  # a restart
        stored = api.get(PRODUCTION, headers=api.admin()).json()
        assert stored["lines"] == body["lines"]
        assert stored["priority_skus"] == ["YU7-LTD"]
        assert estimate(api, order)["build_week"] == 2


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda b: b["lines"][0].update(skus=["YU7-MAX", "GT"]), "lines[0].skus"),
        (lambda b: b["lines"][0].update(skus=["YU7-LTD"]), "lines"),
        (
            lambda b: b["lines"][0].update(
                capacity=[
                    {"from_week": 4, "cars_per_week": 1},
                    {"from_week": 4, "cars_per_week": 2},
                ]
            ),
            "lines[0].capacity",
        ),
        (
            lambda b: b["lines"][0]["capacity"][0].update(cars_per_week=-1),
            "lines[0].capacity[0].cars_per_week",
        ),
        (lambda b: b.update(timezone="Mars/Olympus"), "timezone"),
        (lambda b: b.update(weeks_start="next monday"), "weeks_start"),
        (lambda b: b.update(lines=[]), "lines"),
    ],
)
def test_a_bad_plan_is_refused_and_changes_nothing(
    api: Api, database: Database, edit: Any, field: str
) -> None:
    api.create_launch()
    body = plan(100, ["YU7-MAX"])
    edit(body)
    before = database.snapshot()
    response = api.request("PUT", PRODUCTION, json=body, headers=api.admin())
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert database.snapshot() == before


def test_only_the_admin_sets_or_reads_the_plan(api: Api) -> None:
    api.create_launch()
    body = plan(100, ["YU7-MAX"])
    assert api.request("PUT", PRODUCTION, json=body).status_code == 401
    customer = api.as_customer("ada")
    assert api.request("PUT", PRODUCTION, json=body, headers=customer).status_code == 403
    assert api.get(PRODUCTION, headers=customer).status_code == 403
    assert api.get(f"/api/v1/launches/{SLUG}/delivery/changes", headers=customer).status_code == 403
    assert (
        api.request(
            "PUT", "/api/v1/launches/nope/production", json=body, headers=api.admin()
        ).status_code
        == 404
    )
    bad_since = api.get(
        f"/api/v1/launches/{SLUG}/delivery/changes?since=yesterday", headers=api.admin()
    )
    assert bad_since.status_code == 422
    assert bad_since.json()["error"]["field"] == "since"


def test_without_a_plan_the_fixed_lead_time_is_shown(api: Api) -> None:
    api.create_launch()
    order = api.place("ada").json()
    assert order["delivery_estimate"]["weeks"] == [39, 42]
    assert order["delivery_estimate"]["build_week"] is None
    assert api.get(f"/api/v1/launches/{SLUG}/delivery").status_code == 404


def supply_plan() -> dict[str, Any]:
    """One line of 100 a week; STD's pack from fudi alone (100 a week), MAX's from two."""
    return plan(
        100,
        ["YU7-STD", "YU7-MAX"],
        components=[
            {
                "id": "pack-lfp",
                "per_car": {"YU7-STD": 1},
                "suppliers": [{"id": "fudi", "supply": [{"from_week": 0, "units_per_week": 100}]}],
            },
            {
                "id": "pack-ncm",
                "per_car": {"YU7-MAX": 1},
                "on_hand": 1000,
                "suppliers": [
                    {"id": "catl", "supply": [{"from_week": 0, "units_per_week": 50}]},
                    {"id": "svolt", "supply": [{"from_week": 0, "units_per_week": 50}]},
                ],
            },
        ],
    )


def test_a_supplier_outage_is_seen_before_it_happens_and_changes_nothing(
    api: Api, database: Database
) -> None:
    api.create_launch(variants=variants("YU7-STD", "YU7-MAX"), per_customer_limit=1)
    put_plan(api, supply_plan())
    placed = place_all(api, ["YU7-STD"] * 300)
    # Bring the kept promises up to date (the 201s' promises are kept at the next
    # re-promise), so that what follows shows the what-if adds nothing of its own.
    assert api.get(f"/api/v1/launches/{SLUG}/report", headers=api.admin()).status_code == 200
    before = database.snapshot()
    body = {
        "changes": [{"kind": "supplier_outage", "supplier": "fudi", "from_week": 1, "weeks": 2}]
    }
    response = api.post(f"/api/v1/launches/{SLUG}/supply/what-if", json=body, headers=api.admin())
    assert response.status_code == 200, response.text
    found = response.json()
    std = next(v for v in found["variants"] if v["sku"] == "YU7-STD")
    # Weeks 0, 1, 2 build 100 each; without packs in weeks 1-2, the last 200 wait two weeks.
    assert (std["orders"], std["delayed"], std["worst_delay_weeks"]) == (300, 200, 2)
    assert std["mean_delay_weeks"] == 2.0
    assert std["new_order_weeks"] == {"before": [5, 8], "after": [7, 10]}
    assert found["components"] == [
        {"component": "pack-lfp", "survive_weeks": 0, "recover_weeks": 2, "at_risk": True}
    ]
    assert database.snapshot() == before, "a what-if stores nothing"
    assert estimate(api, placed[-1])["build_week"] == 2
    by_date = {
        "changes": [
            {"kind": "line_loss", "line": "yz", "share": 0.5, "from_date": MONDAY, "weeks": 1}
        ]
    }
    halved = api.post(f"/api/v1/launches/{SLUG}/supply/what-if", json=by_date, headers=api.admin())
    # Half of week 0: orders 51-100 go to week 1 and push 50 of each later week along.
    assert next(v for v in halved.json()["variants"] if v["sku"] == "YU7-STD")["delayed"] == 150


def test_suppliers_are_ranked_by_what_their_loss_would_cost(api: Api) -> None:
    api.create_launch(variants=variants("YU7-STD", "YU7-MAX"), per_customer_limit=1)
    put_plan(api, supply_plan())
    place_all(api, ["YU7-STD"] * 150 + ["YU7-MAX"] * 150)
    risk = api.get(f"/api/v1/launches/{SLUG}/supply/risk?outage_weeks=3", headers=api.admin())
    assert risk.status_code == 200, risk.text
    found = risk.json()
    assert found["outage_weeks"] == 3
    assert found["suppliers"][0]["supplier"] == "fudi"
    assert found["suppliers"][0]["buyer_weeks"] > 0
    assert found["suppliers"][0]["sole_source_of"] == ["pack-lfp"]
    assert {s["supplier"]: s["buyer_weeks"] for s in found["suppliers"][1:]} == {
        "catl": 0,
        "svolt": 0,
    }
    assert found["single_sourced"] == ["pack-lfp"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "supplier_outage", "supplier": "nobody", "weeks": 1}, "changes[0].supplier"),
        ({"kind": "line_loss", "line": "nowhere", "share": 0.3, "weeks": 1}, "changes[0].line"),
        ({"kind": "line_loss", "line": "yz", "share": 1.5, "weeks": 1}, "changes[0].share"),
        (
            {
                "kind": "supplier_outage",
                "supplier": "fudi",
                "weeks": 1,
                "from_week": 1,
                "from_date": MONDAY,
            },
            "changes[0].from_date",
        ),
        ({"kind": "meteor", "weeks": 1}, "changes[0].kind"),
    ],
)
def test_a_what_if_naming_what_the_plan_lacks_is_refused(
    api: Api, change: dict[str, Any], field: str
) -> None:
    api.create_launch(variants=variants("YU7-STD", "YU7-MAX"), per_customer_limit=1)
    put_plan(api, supply_plan())
    response = api.post(
        f"/api/v1/launches/{SLUG}/supply/what-if", json={"changes": [change]}, headers=api.admin()
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_the_report_shows_the_promised_weeks_and_the_moves(api: Api, tmp_path: Path) -> None:
    api.create_launch(
        variants=variants("YU7-STD", "YU7-MAX", window_hours=168), per_customer_limit=1
    )
    put_plan(api, plan(2, ["YU7-STD", "YU7-MAX"]))
    placed = place_all(api, ["YU7-MAX", "YU7-STD"] * 3)
    first = placed[0]
    api.post(f"/api/v1/orders/{first['id']}/cancel", headers=api.as_customer(first["customer"]))
    response = api.get(f"/api/v1/launches/{SLUG}/report", headers=api.admin())
    assert response.status_code == 200, response.text
    delivery = response.json()["delivery"]
    # Five live orders on a line of 2 a week from week 1 (a week's window): weeks 1, 1, 2, 2,
    # 3, delivered two weeks later; the cancellation moved the four behind it a week.
    by_sku = {v["sku"]: v for v in delivery["variants"]}
    assert by_sku["YU7-STD"]["orders"] == 3, delivery
    assert by_sku["YU7-MAX"]["orders"] == 2
    weeks = sorted(
        p["weeks"]
        for v in delivery["variants"]
        for p in v["distribution"]
        for _ in range(p["orders"])
    )
    assert weeks == [3, 3, 4, 4, 5]
    assert delivery["moves"] == 2
    assert delivery["moves_by_cause"] == [{"cause": "an order was cancelled", "moves": 2}]

    report = msgspec.json.decode(response.content, type=Report)
    written = write_report_files(report, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "Delivery promised" in page
    assert "an order was cancelled" in page
    assert any(path.name.startswith("delivery") for path in written)
    console = Console(record=True, width=160)
    print_report(report, console)
    text = console.export_text()
    assert "delivery promised (weeks after ordering)" in text
    assert "promises moved a week or more: 2 (2 an order was cancelled)" in text
