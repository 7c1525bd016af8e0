"""The dashboard's production view in the live feed: the backlog by build week against
capacity, the quoted lead times and the supplier risks, for a launch with a production
plan, over a real server on SQLite and on PostgreSQL; nothing for a launch without one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from launchday.web.production_live import LeadSeries
from tests import test_dashboard
from tests.production_plans import (
    HAND_VARIANTS,
    create_planned_launch,
    hand_plan,
    place_many,
    this_monday,
)
from tests.support import T0, Api, Database, launch_body, loopback_server
from tests.test_dashboard import InProcess

LIVE = "/launches/{slug}/live"
inproc = test_dashboard.inproc  # the app in-process, its feed ticked by the test


def events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def first_event(client: httpx.Client, slug: str) -> dict[str, Any]:
    with client.stream("GET", LIVE.format(slug=slug)) as stream:
        assert stream.status_code == 200
        return next(events(stream))


def event_with_risks(client: httpx.Client, slug: str, patience: float = 60) -> dict[str, Any]:
    """The first event whose supplier ranking is done (it runs beside the ticks)."""
    deadline = time.monotonic() + patience
    with client.stream("GET", LIVE.format(slug=slug)) as stream:
        for event in events(stream):
            if event["production"]["risk"] is not None or time.monotonic() > deadline:
                return event
    raise AssertionError("the stream ended")


def test_the_feed_shows_the_backlog_quotes_and_risks_of_a_launch_with_a_plan(
    database: Database,
) -> None:
    with (
        loopback_server(database.settings()) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        api = Api(client.request)
        create_planned_launch(api, "yu7-2025", HAND_VARIANTS, hand_plan(this_monday()))
        create_planned_launch(api, "plain", HAND_VARIANTS, hand_plan(this_monday()))
        # 150 Standard then 100 Max, locked at once, on a line of 100 a week.
        orders = [(f"c-{n}", "YU7-STD") for n in range(150)]
        orders += [(f"c-{n}", "YU7-MAX") for n in range(150, 250)]
        assert len(place_many(base, "yu7-2025", orders)) == 250

        event = first_event(client, "yu7-2025")
        production = event["production"]
        backlog = production["backlog"]
        assert backlog["first_week"] == 0
        assert backlog["week_starts"][:2] == [
            this_monday().isoformat(),
            (this_monday() + timedelta(days=7)).isoformat(),
        ]
        assert backlog["skus"] == ["YU7-STD", "YU7-MAX"]  # the launch's order
        assert len(backlog["orders"][0]) == len(backlog["capacity"]) == 26
        # Worked by hand: week 0 builds Standard 1-100; week 1 Standard 101-150 and
        # Max 1-50; week 2 Max 51-100.
        assert backlog["orders"][0][:4] == [100, 50, 0, 0]
        assert backlog["orders"][1][:4] == [0, 50, 50, 0]
        assert sum(backlog["orders"][0]) == 150
        assert sum(backlog["orders"][1]) == 100
        assert backlog["later"] == [0, 0]
        assert backlog["capacity"] == [100] * 26
        assert backlog["queued"] == 250

        # A new order of either joins behind all 250: the 50 places left in week 2,
        # delivered two weeks on (week 4), told in weeks after today.
        today = datetime.fromisoformat(event["launch_time"]).date()
        first_day = this_monday() + timedelta(weeks=4)
        earliest = (first_day - today).days // 7
        quotes = {q["sku"]: q for q in production["quotes"]}
        assert list(quotes) == ["YU7-STD", "YU7-MAX"]
        for sku in quotes:
            assert quotes[sku]["build_week"] == 2
            assert quotes[sku]["weeks"] == [earliest, earliest + 3]
            assert quotes[sku]["first_day"] == first_day.isoformat()
            assert quotes[sku]["last_day"] == (first_day + timedelta(weeks=3)).isoformat()
        # Each of them agrees with what the API quotes.
        quoted = api.get("/api/v1/launches/yu7-2025/delivery").json()["variants"]
        assert {q["sku"]: q["estimate"]["weeks"] for q in quoted} == {
            sku: q["weeks"] for sku, q in quotes.items()
        }
        lead = production["lead_times"]
        assert lead["skus"] == ["YU7-STD", "YU7-MAX"]
        assert len(lead["elapsed_seconds"]) == 1
        assert 0 < lead["elapsed_seconds"][0] < 3600  # launch time since opening
        assert lead["weeks"] == [[earliest], [earliest]]

        # The ranking is the API's, cut to the top rows.
        ranked = event_with_risks(client, "yu7-2025")["production"]["risk"]
        assert ranked is not None
        risk = api.get("/api/v1/launches/yu7-2025/supply/risk", headers=api.admin()).json()
        assert ranked["outage_weeks"] == risk["outage_weeks"] == 4
        assert ranked["ranked"] == 3
        assert [
            (r["supplier"], r["buyer_weeks"], r["orders_delayed"], r["sole_source_of"])
            for r in ranked["suppliers"]
        ] == [
            (r["supplier"], r["buyer_weeks"], r["orders_delayed"], r["sole_source_of"])
            for r in risk["suppliers"]
        ]
        assert {r["supplier"] for r in ranked["suppliers"]} == {"fudi", "gotion", "qualcomm"}
        assert ranked["single_sourced"] == ["chip-8295"]
        chip = next(r for r in ranked["suppliers"] if r["supplier"] == "qualcomm")
        assert chip["sole_source_of"] == ["chip-8295"]
        assert chip["buyer_weeks"] > 0  # no chip for four weeks stops every car

        # A launch with a plan and no orders: empty weeks, the line's capacity still.
        empty = first_event(client, "plain")["production"]["backlog"]
        assert empty["queued"] == 0
        assert empty["capacity"][0] == 100


def test_a_launch_without_a_plan_has_no_production_in_its_events(database: Database) -> None:
    with (
        loopback_server(database.settings()) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        api = Api(client.request)
        api.create_launch(opens_at=datetime.now().astimezone() - timedelta(minutes=1))
        assert api.place("c-1").status_code == 201
        with client.stream("GET", LIVE.format(slug="yu7-2025")) as stream:
            feed = events(stream)
            first, second = next(feed), next(feed)
        assert first["production"] is None
        assert second["production"] is None
        assert second["orders"]["placed"] == 1


def test_a_plan_put_while_the_feed_runs_shows_from_the_next_tick(inproc: InProcess) -> None:
    monday = date(2026, 11, 23)  # the test clock is a Sunday: week 0 starts tomorrow
    body = launch_body(variants=HAND_VARIANTS)
    assert inproc.api.post("/api/v1/launches", json=body, headers=inproc.api.admin()).status_code
    for n in range(3):
        inproc.place_at(T0 + timedelta(seconds=1 + n), f"c-{n}", "YU7-STD")
    assert inproc.tick()["production"] is None
    put = inproc.api.request(
        "PUT", "/api/v1/launches/yu7-2025/production", json=hand_plan(monday),
        headers=inproc.api.admin(),
    )  # fmt: skip
    assert put.status_code == 200, put.text
    backlog = inproc.tick()["production"]["backlog"]
    # Week -1 (today) has no capacity yet: the three cars are built in week 0.
    assert backlog["first_week"] == -1
    assert backlog["capacity"][:2] == [0, 100]
    assert backlog["orders"][0][:2] == [0, 3]
    assert backlog["orders"][1][:2] == [0, 0]
    # The ranking runs beside the ticks; once it is done, the next tick carries it.
    feed = inproc.app.dashboard.hub.feed("yu7-2025")
    inproc.runner.run(feed.production.ranked())
    risk = inproc.tick()["production"]["risk"]
    assert risk is not None
    assert {r["supplier"] for r in risk["suppliers"]} == {"fudi", "gotion", "qualcomm"}
    costs = [r["buyer_weeks"] for r in risk["suppliers"]]
    assert costs == sorted(costs, reverse=True)  # the costliest loss first


# --- the quoted weeks over the launch ------------------------------------------------


def test_the_lead_series_keeps_only_the_ends_of_each_run_of_equal_samples() -> None:
    series = LeadSeries()
    for at, weeks in [(0, 4), (10, 4), (20, 4), (30, 4), (40, 5), (50, 5), (60, 7)]:
        series.add(float(at), {"STD": weeks, "MAX": None})
    live = series.live(["STD", "MAX"])
    assert live.elapsed_seconds == [0, 30, 40, 50, 60]
    assert live.weeks == [[4, 4, 5, 5, 7], [None] * 5]


def test_the_lead_series_thins_out_once_full_and_keeps_the_newest() -> None:
    series = LeadSeries(limit=4)
    for at in range(5):
        series.add(float(at), {"STD": at})
    assert [at for at, _ in series.points] == [0, 2, 4]
    series.add(5.0, {"STD": 9, "PRO": 1})  # a variant quoted from now on
    live = series.live(["STD", "PRO"])
    assert live.weeks == [[0, 2, 4, 9], [None, None, None, 1]]
