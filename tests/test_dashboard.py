"""The live dashboard: its pages, static files, event stream and the publisher behind it,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from launchday.analytics.report import ProfileTally
from launchday.app import App, create_app
from launchday.domain.admission import QueueSnapshot
from launchday.domain.clock import to_micros
from launchday.store.reads.live import NEW_ORDERS_SQL
from launchday.store.sql import Connection, ReadConnection
from launchday.web import live
from launchday.web.live import LaunchFeed, live_event
from launchday.web.series import LiveSeries, rate_now
from tests.bulk_orders import insert_orders
from tests.pg_cluster import PgServer
from tests.support import (
    T0,
    Api,
    Database,
    SettableClock,
    customer_token,
    launch_body,
    loopback_server,
)

US = 1_000_000


@dataclass
class InProcess:
    """The app in-process with the runner that owns its event loop, for feed ticks."""

    api: Api
    app: App
    runner: asyncio.Runner
    clock: SettableClock

    def tick(self, slug: str = "yu7-2025") -> dict[str, Any]:
        """One publisher tick of the launch's feed, decoded."""
        raw = self.runner.run(self.app.dashboard.hub.feed(slug).tick())
        assert raw.startswith(b"data: ")
        assert raw.endswith(b"\n\n")
        event: dict[str, Any] = json.loads(raw[len(b"data: ") :])
        return event

    def place_at(
        self, at: datetime, customer: str, sku: str = "YU7-MAX", **body: Any
    ) -> dict[str, Any]:
        self.clock.now = at
        placed = self.api.place(customer, sku, **body)
        assert placed.status_code == 201, placed.text
        order: dict[str, Any] = placed.json()
        return order


@pytest.fixture
def inproc(database: Database) -> Iterator[InProcess]:
    clock = SettableClock(T0 + timedelta(minutes=5))
    app = create_app(database.settings(), clock=clock)
    with asyncio.Runner() as runner:
        runner.run(app.startup())
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")

        def request(method: str, path: str, **kw: Any) -> httpx.Response:
            return runner.run(client.request(method, path, **kw))

        try:
            yield InProcess(Api(request), app, runner, clock)
        finally:
            runner.run(client.aclose())
            runner.run(app.shutdown())


# --- pages ---------------------------------------------------------------------------


def test_the_home_page_lists_every_launch_with_a_link_to_its_dashboard(api: Api) -> None:
    api.create_launch()
    api.create_launch(slug="su7-2024", name="Xiaomi SU7")
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'href="/launches/yu7-2025"' in page.text
    assert 'href="/launches/su7-2024"' in page.text
    assert "Xiaomi YU7" in page.text
    assert "Xiaomi SU7" in page.text


def test_the_home_page_without_launches_says_how_to_make_one(api: Api) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert "No launches yet" in page.text


def test_the_dashboard_page_renders_the_launch_its_variants_and_its_stream(api: Api) -> None:
    api.create_launch()
    api.place("c-1")
    page = api.get("/launches/yu7-2025")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Xiaomi YU7</h1>" in page.text
    assert 'data-sku="YU7-MAX"' in page.text
    assert 'data-sku="YU7-LTD"' in page.text
    assert 'data-live="/launches/yu7-2025/live"' in page.text
    assert 'id="counter" data-value="1"' in page.text  # the count as of the render
    # Everything it loads comes from this server: no CDN, no web font.
    assert "https://" not in page.text
    assert "http://" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_a_launch_name_is_escaped_in_the_pages(api: Api) -> None:
    api.create_launch(name='YU7 <script>alert("x")</script> & Co')
    for path in ("/", "/launches/yu7-2025"):
        text = api.get(path).text
        assert "<script>alert" not in text
        assert "YU7 &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in text


@pytest.mark.parametrize("path", ["/launches/nope", "/launches/nope/live"])
def test_an_unknown_launch_is_a_404_with_the_error_body(api: Api, path: str) -> None:
    refused = api.get(path)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"


def test_the_dashboard_routes_are_in_the_openapi_document(api: Api) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert "text/html" in paths["/"]["get"]["responses"]["200"]["content"]
    assert "text/html" in paths["/launches/{slug}"]["get"]["responses"]["200"]["content"]
    assert "404" in paths["/launches/{slug}"]["get"]["responses"]
    live_ok = paths["/launches/{slug}/live"]["get"]["responses"]["200"]
    assert "text/event-stream" in live_ok["content"]
    assert "text/css" in paths["/static/dashboard.css"]["get"]["responses"]["200"]["content"]


# --- static files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("dashboard.css", "text/css; charset=utf-8"),
        ("dashboard.js", "text/javascript; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
def test_static_files_are_served_with_their_type(api: Api, name: str, content_type: str) -> None:
    served = api.get(f"/static/{name}")
    assert served.status_code == 200
    assert served.headers["content-type"] == content_type
    assert served.headers["x-content-type-options"] == "nosniff"
    source = Path(__file__).parents[1] / "src/launchday/web/static" / name
    assert served.content == source.read_bytes()
    again = api.get(f"/static/{name}", headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304


def test_the_pages_load_only_files_the_server_has(api: Api) -> None:
    api.create_launch()
    for page in ("/", "/launches/yu7-2025"):
        text = api.get(page).text
        for piece in text.split('"/static/')[1:]:
            url = "/static/" + piece.split('"')[0]
            assert api.get(url).status_code == 200, url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PgServer | None,
) -> Iterator[str]:
    """One real server for the tests that only read, on each database."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path_factory.mktemp('db') / 'launchday.db'}")
    elif postgres is None:
        pytest.skip("no PostgreSQL here: install Debian's postgresql or set LAUNCHDAY_TEST_PG")
    else:
        database = Database(postgres.create_database())
    try:
        with loopback_server(database.settings()) as base:
            yield base
    finally:
        if postgres is not None and database.is_postgres:
            postgres.drop_database(database.url)


def raw_get(base: str, target: str) -> bytes:
    """A request line sent as is, so that no client tidies the path first."""
    parts = urlsplit(base)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "target",
    [
        "/static/../../pyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/%2e%2e/dashboard.py",
        "/static/..",
        "/static/",
        "/static/dashboard.css/../../../web/dashboard.py",
        "/static/.%2Fdashboard.css",
        "/static/DASHBOARD.CSS",
        "/static/dashboard.css%00.py",
    ],
)
def test_static_paths_outside_the_folder_are_refused(server: str, target: str) -> None:
    answer = raw_get(server, target)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404"), head
    assert json.loads(body)["error"]["code"] == "not_found"


# --- the event stream over a real server --------------------------------------------


def events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def test_the_stream_sends_a_first_event_at_once_then_counts_that_follow_orders(
    database: Database,
) -> None:
    opens = datetime.now(UTC) - timedelta(minutes=1)
    with (
        loopback_server(database.settings()) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        api = Api(client.request)
        api.create_launch(opens_at=opens)
        started = time.monotonic()
        with client.stream("GET", "/launches/yu7-2025/live") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"] == "text/event-stream"
            assert stream.headers["cache-control"] == "no-cache"
            feed = events(stream)
            first = next(feed)
            assert time.monotonic() - started < 1.0
            assert first["name"] == "Xiaomi YU7"
            assert first["opened"] is True
            assert first["orders"] == {"placed": 0, "live": 0, "cancelled": 0}

            for n in range(3):
                assert api.place(f"c-{n}").status_code == 201
            assert api.place("c-9", "YU7-LTD").status_code == 201
            deadline = time.monotonic() + 5
            while True:
                event = next(feed)
                if event["orders"]["placed"] == 4 or time.monotonic() > deadline:
                    break
            seen = {v["sku"]: v for v in event["variants"]}
        assert event["orders"]["placed"] == 4
        assert seen["YU7-MAX"]["placed"] == 3
        assert seen["YU7-LTD"]["placed"] == 1
        assert seen["YU7-LTD"]["available"] == 4999
        assert sum(event["series"]["orders"]) == 4
        assert event["series"]["step_seconds"] == 1
        assert event["tick"] > first["tick"]


def test_viewers_share_one_publisher_which_stops_when_the_last_leaves(
    inproc: InProcess,
) -> None:
    inproc.api.create_launch()
    feed = inproc.app.dashboard.hub.feed("yu7-2025")

    async def watch_with_two() -> tuple[bytes, bytes, bytes, bool, int]:
        one, two = feed.watch(), feed.watch()
        first = await anext(one)
        joined_late = await anext(two)  # the latest event, at once
        both = await anext(one), await anext(two)
        shared = both[0] is both[1]  # encoded once for everyone
        viewers = feed.viewers
        await one.aclose()
        assert feed.running
        await two.aclose()
        return first, joined_late, both[0], shared, viewers

    first, joined_late, _later, shared, viewers = inproc.runner.run(watch_with_two())
    assert viewers == 2
    assert joined_late == first
    assert shared
    assert not feed.running


# --- the publisher's reads --------------------------------------------------------------


def test_the_per_tick_query_reads_new_orders_through_the_launch_time_index(
    inproc: InProcess, database: Database
) -> None:
    inproc.api.create_launch()
    # Enough orders that PostgreSQL's planner prefers its indexes (it rightly scans a
    # table of a few rows): one every 0.072 s over the first hour.
    last = insert_orders(database, 1, to_micros(T0), 50_000).last_placed_us
    params = {"opens": to_micros(T0), "launch": 1, "after": last - US}
    with closing(database.connect()) as conn:
        db = ReadConnection(conn)
        rows = db.all(NEW_ORDERS_SQL, params)
        if database.is_postgres:
            plan = [row[0] for row in db.all(f"EXPLAIN {NEW_ORDERS_SQL}", params)]
        else:
            plan = [row[3] for row in db.all(f"EXPLAIN QUERY PLAN {NEW_ORDERS_SQL}", params)]
    assert sum(row[1] for row in rows) == 14  # the last second's
    if database.is_postgres:
        assert any("Index Scan using orders_by_launch_time on orders o" in s for s in plan), plan
        assert any("Index Cond: ((launch_id = " in s and "placed_at_us >" in s for s in plan)
        assert any("Index Scan using interest_pkey on interest i" in s for s in plan), plan
        assert not any("Seq Scan" in s for s in plan), plan
    else:
        assert any(
            "USING INDEX orders_by_launch_time (launch_id=? AND placed_at_us>?)" in s for s in plan
        ), plan
        assert not any(s.startswith("SCAN o") for s in plan), plan


def test_each_tick_reads_only_the_orders_after_the_newest_second_it_saw(
    inproc: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[int, int]] = []  # (after_us, orders read)
    original = live.read_new_orders

    def recording(
        conn: Connection | ReadConnection, slug: str, opens_us: int, after_us: int
    ) -> Any:
        rows = original(conn, slug, opens_us, after_us)
        reads.append((after_us - opens_us, sum(tally.count for _, tally in rows)))
        return rows

    monkeypatch.setattr(live, "read_new_orders", recording)
    inproc.api.create_launch()
    second = timedelta(seconds=1)
    inproc.place_at(T0 + 0.2 * second, "c-1")
    inproc.place_at(T0 + 1.0 * second, "c-2")  # right-closed: still the first second
    inproc.place_at(T0 + 1.5 * second, "c-3")
    inproc.clock.now = T0 + 3.25 * second
    first = inproc.tick()
    assert first["series"] == {"step_seconds": 1, "orders": [0, 2, 1, 0, 0]}
    assert first["rate"] == {"now": 0, "peak": 2, "peak_after_seconds": 1}

    inproc.place_at(T0 + 3.5 * second, "c-4")
    inproc.place_at(T0 + 3.75 * second, "c-5", "YU7-LTD")
    inproc.clock.now = T0 + 4.5 * second
    after = inproc.tick()
    assert after["series"]["orders"] == [0, 2, 1, 0, 2, 0]
    assert after["rate"]["now"] == 2
    assert after["orders"]["placed"] == 5

    # The first tick read everything; the second from the start of second 2, the newest
    # it had seen (c-3 could have had company still committing): 3 orders, not 5.
    assert reads == [(-1, 3), (1 * US, 3)]


def test_an_order_committed_after_a_tick_in_the_newest_second_is_counted_next_tick(
    inproc: InProcess,
) -> None:
    inproc.api.create_launch()
    inproc.place_at(T0 + timedelta(seconds=1.5), "c-1")
    inproc.clock.now = T0 + timedelta(seconds=1.6)
    assert inproc.tick()["series"]["orders"] == [0, 0, 1]
    inproc.place_at(T0 + timedelta(seconds=1.7), "c-2")
    inproc.clock.now = T0 + timedelta(seconds=2.5)
    assert inproc.tick()["series"]["orders"] == [0, 0, 2, 0]


def test_the_event_shows_sold_out_variants_and_cancellations(inproc: InProcess) -> None:
    body = launch_body()
    body["variants"][1]["stock"] = 1
    created = inproc.api.post("/api/v1/launches", json=body, headers=inproc.api.admin())
    assert created.status_code == 201
    inproc.place_at(T0 + timedelta(seconds=2), "c-1", "YU7-LTD")
    order = inproc.place_at(T0 + timedelta(seconds=3), "c-2")
    cancelled = inproc.api.post(
        f"/api/v1/orders/{order['id']}/cancel", headers=inproc.api.as_customer("c-2")
    )
    assert cancelled.status_code == 200
    event = inproc.tick()
    variants = {v["sku"]: v for v in event["variants"]}
    assert variants["YU7-LTD"] == {
        "sku": "YU7-LTD",
        "name": "Launch edition",
        "stock": 1,
        "placed": 1,
        "live": 1,
        "cancelled": 0,
        "available": 0,
        "sold_out": True,
    }
    assert variants["YU7-MAX"]["sold_out"] is False
    assert variants["YU7-MAX"]["available"] is None
    assert event["orders"] == {"placed": 2, "live": 1, "cancelled": 1}
    assert event["queue"] is None


def test_composition_counts_each_buyer_by_order_profile_else_registration(
    inproc: InProcess,
) -> None:
    inproc.api.create_launch()
    registered = inproc.api.post(
        "/api/v1/launches/yu7-2025/interest",
        json={"profile": {"phone": "ios", "first_car_with_brand": True}},
        headers={"Authorization": f"Bearer {customer_token('c-1')}"},
    )
    assert registered.status_code == 201
    at = T0 + timedelta(seconds=1)
    inproc.place_at(at, "c-1")  # no profile of its own: the registration's answers
    inproc.place_at(at, "c-2", profile={"phone": "android", "new_to_brand": True})
    inproc.place_at(at, "c-3", profile={"phone": "ios", "first_car_with_brand": False})
    inproc.place_at(at, "c-4")  # answered nothing
    inproc.clock.now = T0 + timedelta(seconds=10)
    event = inproc.tick()
    assert event["interest"] == 1
    composition = event["composition"]
    assert composition == {
        "orders": 4,
        "registered": 0.25,
        "first_car_with_brand": 0.5,  # c-1 yes, c-3 no
        "new_to_brand": 1.0,  # only c-2 answered
        "apple_users": 2 / 3,  # c-1 and c-3 of three who gave a phone
    }


def test_before_opening_the_event_counts_down_with_an_empty_curve(inproc: InProcess) -> None:
    inproc.api.create_launch(opens_at=T0 + timedelta(hours=1))
    event = inproc.tick()
    assert event["opened"] is False
    assert event["elapsed_seconds"] == pytest.approx(-55 * 60)
    assert event["series"]["orders"] == []
    assert event["rate"]["now"] == 0


def test_the_event_carries_the_waiting_room_when_there_is_one(inproc: InProcess) -> None:
    inproc.api.create_launch()
    state = inproc.app.services.launches.state("yu7-2025")
    series = LiveSeries(to_micros(T0))
    event = live_event(state, series, QueueSnapshot(1000, 400, 2000.0, False), tick=1)
    assert event.queue is not None
    assert (event.queue.joined, event.queue.admitted, event.queue.waiting) == (1000, 400, 600)
    assert event.queue.rate_per_second == 2000.0


def test_the_waiting_room_on_the_dashboard_counts_buyers_who_came_back(
    inproc: InProcess,
) -> None:
    """Lapsed buyers who rejoin show in the feed: one kept its place, one went to the back."""
    room = {"rate_per_second": 100, "token_ttl_seconds": 60, "rejoin_grace_seconds": 30}
    inproc.api.create_launch(opens_at=inproc.clock.now, admission=room)
    headers = {c: inproc.api.as_customer(c) for c in ("c-keep", "c-back", "c-stay")}
    for customer in headers:
        joined = inproc.api.post("/api/v1/launches/yu7-2025/queue", headers=headers[customer])
        assert joined.status_code == 201, joined.text
    inproc.clock.now += timedelta(seconds=61)  # all three admitted, then lapsed
    kept = inproc.api.post("/api/v1/launches/yu7-2025/queue", headers=headers["c-keep"])
    assert kept.json()["state"] == "admitted"
    inproc.clock.now += timedelta(seconds=31)
    back = inproc.api.post("/api/v1/launches/yu7-2025/queue", headers=headers["c-back"])
    assert back.json()["state"] == "waiting"
    queue = inproc.tick()["queue"]
    assert (queue["rejoined_kept_place"], queue["rejoined_back"]) == (1, 1)
    assert (queue["joined"], queue["admitted"], queue["waiting"]) == (4, 3, 1)


def test_a_head_request_for_the_stream_does_not_open_it(inproc: InProcess) -> None:
    inproc.api.create_launch()
    head = inproc.api.request("HEAD", "/launches/yu7-2025/live")
    assert head.status_code == 200
    assert head.headers["content-type"] == "text/event-stream"
    assert not inproc.app.dashboard.hub.feed("yu7-2025").running


# --- the curve's arithmetic ------------------------------------------------------------


def tally(count: int) -> ProfileTally:
    return ProfileTally(count, 0, 0, 0, 0, 0, 0, 0)


def test_the_curve_is_per_second_for_the_first_hour_then_per_minute() -> None:
    series = LiveSeries(opens_us=0)
    buckets = {0: 1, 1: 2, 60: 3, 61: 4, 3600: 5, 3601: 6, 3660: 7, 3661: 8}
    series.apply([(k, tally(n)) for k, n in buckets.items()])
    assert series.read_after_us() == 3660 * US  # second 3661 stays open
    assert series.view(10 * US).orders == [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    view = series.view(3700 * US)
    assert view.step_seconds == 60
    assert len(view.orders) == 63  # minutes 0 to 62
    assert view.orders[:3] == [1, 5, 4]  # minute k holds seconds (60(k-1), 60k]
    assert view.orders[60:] == [5, 13, 8]
    assert sum(view.orders) == sum(buckets.values()) == series.total()
    assert series.peak == 8
    assert series.peak_bucket == 3661
    assert rate_now(series, 3662 * US) == 8
    by_hour = series.view(8 * 86400 * US)
    assert by_hour.step_seconds == 3600
    assert len(by_hour.orders) == 8 * 24 + 1
    assert by_hour.orders[:3] == [1, 14, 21]  # hour 2 holds minutes 61 and 62
    assert sum(by_hour.orders) == 36


def test_the_open_second_is_replaced_not_added_on_the_next_tick() -> None:
    series = LiveSeries(opens_us=0)
    series.apply([(1, tally(2)), (2, tally(1))])
    series.apply([(2, tally(3)), (3, tally(1))])  # second 2 read again, in full
    assert series.view(3 * US).orders == [0, 2, 3, 1]
    series.apply([(3, tally(1))])  # nothing new: second 3 read again as it was
    assert series.view(4 * US).orders == [0, 2, 3, 1, 0]
    assert series.total() == 6


def test_a_publisher_keeps_ticking_while_someone_watches(inproc: InProcess) -> None:
    inproc.api.create_launch()
    feed = LaunchFeed("yu7-2025", inproc.app.services, interval=0.05)

    async def take(n: int) -> list[int]:
        stream = feed.watch()
        ticks = [json.loads((await anext(stream))[6:])["tick"] for _ in range(n)]
        await stream.aclose()
        return ticks

    assert inproc.runner.run(take(3)) == [1, 2, 3]
