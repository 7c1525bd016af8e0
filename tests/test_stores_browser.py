"""The launch room counts the stores, in Debian's Chromium against a real server on SQLite
and on PostgreSQL: the dashboard's stores view shows the orders by channel and the top
stores, and follows store and web orders placed while it is open, without a reload; then
report.html's Stores section shows the leaderboard, the channels, the test drives by day,
the conversion and the two maps.

The server runs on a clock the test moves (a store's test drive is marked done only once
it has begun). With LAUNCHDAY_SCREENSHOTS=1 the SQLite run refreshes
docs/dashboard-stores.png and docs/report-stores.png."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from launchday.analytics.build import build_report
from launchday.analytics.report_files import write_report_files
from launchday.app import create_app
from launchday.cli import free_port
from launchday.config import Settings
from launchday.server import uvicorn_config
from launchday.store.reads import snapshot_reads
from tests.store_scenario import SLUG, booked, mark, placed, utc
from tests.support import Api, Database, SettableClock
from tests.test_dashboard_browser import DOCS, browser, digits, wait_for_number
from tests.test_store_orders import store_order
from tests.test_test_drives import put_store, store_key

__all__ = ["browser"]  # the module's Chromium, shared with the dashboard's tests

# id, name, city, region, latitude, longitude; and the orders its staff place first.
STORES = [
    ("bj-chaoyang", "Xiaomi Auto Beijing Chaoyang", "Beijing", "CN-BJ", 39.92, 116.46, 9),
    ("sh-pudong", "Xiaomi Auto Shanghai Pudong", "Shanghai", "CN-SH", 31.22, 121.54, 7),
    ("sh-jingan", "Xiaomi Auto Shanghai Jing'an", "Shanghai", "CN-SH", 31.23, 121.45, 5),
    ("gz-tianhe", "Xiaomi Auto Guangzhou Tianhe", "Guangzhou", "CN-GD", 23.13, 113.32, 4),
    ("hz-xihu", "Xiaomi Auto Hangzhou West Lake", "Hangzhou", "CN-ZJ", 30.26, 120.13, 3),
    ("cd-taikoo", "Xiaomi Auto Chengdu Taikoo Li", "Chengdu", "CN-SC", 30.65, 104.08, 2),
    ("sz-futian", "Xiaomi Auto Shenzhen Futian", "Shenzhen", "CN-GD", 22.54, 114.05, 0),
]
ONLINE = {"app": 30, "web": 15, "partner": 5}
# Where the online buyers live, roughly as a launch's buyers spread over the country.
BUYER_REGIONS = {
    "CN-GD": 9, "CN-SH": 6, "CN-BJ": 6, "CN-ZJ": 5, "CN-JS": 5, "CN-SC": 3, "CN-HB": 2,
    "CN-FJ": 2, "CN-SD": 2, "CN-HA": 1, "CN-HN": 1, "CN-CQ": 1, "CN-SN": 1,
}  # fmt: skip


@contextmanager
def served(settings: Settings, clock: SettableClock) -> Iterator[str]:
    """The app under uvicorn in a thread on a loopback port, on the test's clock."""
    port = free_port()
    app = create_app(settings, clock=clock)
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def a_day_in_the_stores(api: Api, clock: SettableClock) -> dict[str, str]:
    """The launch's first hour online and in six stores; test drives the next morning,
    and two of the drivers ordering online after theirs. The staff keys, by store."""
    clock.now = utc("2026-11-22T16:00")
    api.create_launch()
    keys = {}
    for store, name, city, region, lat, lon, _ in STORES:
        put_store(api, store, name=name, city=city, region=region, lat=lat, lon=lon)
        keys[store] = store_key(api, f"staff-{store}", store)
    rng = random.Random(2026)
    regions = list(BUYER_REGIONS)
    weights = list(BUYER_REGIONS.values())
    n = 0
    for channel, count in ONLINE.items():
        for _ in range(count):
            n += 1
            profile = {"region": rng.choices(regions, weights)[0]}
            placed(api.place(f"online-{n}", channel=channel, profile=profile))
    for store, _, _, region, _, _, count in STORES:
        for k in range(count):
            customer = f"walk-in-{store}-{k}"
            placed(store_order(api, keys[store], store, customer, profile={"region": region}))
    # 10:00 in Shanghai the next morning: five test drives done, one buyer missing.
    drives = [
        ("td-1", "bj-chaoyang", "2026-11-23T02:00:00Z", "done"),
        ("td-2", "bj-chaoyang", "2026-11-23T02:00:00Z", "done"),
        ("td-3", "sh-pudong", "2026-11-23T02:00:00Z", "done"),
        ("td-4", "sh-pudong", "2026-11-23T02:00:00Z", "done"),
        ("td-5", "gz-tianhe", "2026-11-23T02:00:00Z", "done"),
        ("td-6", "bj-chaoyang", "2026-11-23T03:00:00Z", "no-show"),
    ]
    ids = [booked(api, customer, store, start) for customer, store, start, _ in drives]
    clock.now = utc("2026-11-23T03:01")
    for booking, (_, store, _, outcome) in zip(ids, drives, strict=True):
        mark(api, keys[store], store, booking, outcome)
    clock.now = utc("2026-11-23T05:00")
    for driver in ("td-1", "td-3"):
        placed(api.place(driver, channel="web", profile={"region": "CN-SH"}))
    return keys


def channel_count(page: Any, channel: str) -> int:
    return digits(page, f'[data-channel="{channel}"] .channel-count')


def test_the_stores_view_and_the_reports_stores_section_in_a_browser(
    browser: Any, database: Database, tmp_path: Path
) -> None:
    refresh = os.environ.get("LAUNCHDAY_SCREENSHOTS") == "1" and not database.is_postgres
    shots = DOCS if refresh else tmp_path
    clock = SettableClock(utc("2026-11-22T16:00"))
    with (
        served(database.settings(), clock) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        api = Api(client.request)
        keys = a_day_in_the_stores(api, clock)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(f"{base}/launches/{SLUG}#stores")
            page.wait_for_selector("#stores", state="visible")
            wait_for_number(page, '[data-channel="store"] .channel-count', 30)
            time.sleep(1.2)  # the count-up animations settle
            shown = {c: channel_count(page, c) for c in ("app", "web", "store", "partner")}
            assert shown == {"app": 30, "web": 17, "store": 30, "partner": 5}
            rows = page.locator("#stores-rows tr")
            assert [rows.nth(i).get_attribute("data-store") for i in range(rows.count())] == [
                "bj-chaoyang", "sh-pudong", "sh-jingan", "gz-tianhe", "hz-xihu", "cd-taikoo",
            ]  # fmt: skip
            first = rows.first.locator("td").all_inner_texts()
            assert (first[0], first[1], first[2], first[3]) == ("1", "Beijing", "9", "2")
            summary = page.locator("#stores-summary").inner_text()
            assert summary.startswith("30 of 82 orders placed in stores (37%)")
            page.evaluate("window.__sameDocument = true")

            # While the page is open: Futian sells ten cars, five buyers order on the web.
            clock.now = utc("2026-11-23T06:00")
            for k in range(10):
                placed(store_order(api, keys["sz-futian"], "sz-futian", f"futian-{k}",
                                   profile={"region": "CN-GD"}))  # fmt: skip
            for k in range(5):
                placed(api.place(f"late-{k}", channel="web", profile={"region": "CN-GD"}))
            wait_for_number(page, '[data-channel="store"] .channel-count', 40)
            wait_for_number(page, '[data-channel="web"] .channel-count', 22)
            page.wait_for_function(
                "() => document.querySelector('#stores-rows tr')?.dataset.store === 'sz-futian'"
            )
            time.sleep(1.2)
            assert (channel_count(page, "store"), channel_count(page, "web")) == (40, 22)
            assert page.locator("#stores-rows tr").first.locator("th").inner_text() == (
                "Xiaomi Auto Shenzhen Futian"
            )
            assert page.evaluate("window.__sameDocument") is True
            assert errors == []
            page.locator("#stores").screenshot(path=str(shots / "dashboard-stores.png"))

            # The report of the same launch, as report.html.
            with closing(database.connect()) as conn:
                report = build_report(snapshot_reads(conn), SLUG, now=clock.now)
            write_report_files(report, tmp_path / "report")
            page.goto((tmp_path / "report" / "report.html").as_uri())
            section = page.locator("#stores")
            leader = section.locator("#store-leaderboard tbody tr").first.locator("td")
            assert leader.all_inner_texts()[:4] == [
                "Xiaomi Auto Shenzhen Futian", "Shenzhen", "CN-GD", "10",
            ]  # fmt: skip
            assert section.locator("#store-leaderboard tbody tr").count() == 7
            days = section.locator("#store-days tbody tr").first.locator("td").all_inner_texts()
            assert days == ["2026-11-23", "6", "5", "3"]
            conversion = section.locator("#store-conversion").inner_text()
            assert "2 (40.0%)" in conversion  # two of the five drivers ordered
            guangdong = section.locator('#map-per-store [data-region="CN-GD"] title')
            assert guangdong.text_content() == "Guangdong (CN-GD): 7 store orders per store"
            assert section.locator("#map-per-capita .region").count() == 34
            section.screenshot(path=str(shots / "report-stores.png"))
        finally:
            page.close()  # before the server stops: an open stream would hold it up
