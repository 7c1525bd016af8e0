"""A launch taking deposits, in Debian's Chromium: the dashboard's big counter is the
orders paid, the orders placed beside it, both counting up live as buyers order and the
provider's webhooks land; and report.html's deposits, refunds and ledger. On SQLite
alone: the counts' queries run on both databases in tests/test_payments_api.py and the
stream's in tests/test_dashboard.py.

With LAUNCHDAY_SCREENSHOTS=1 the screenshots refresh docs/dashboard-payments.png and
docs/report-payments.png."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.payments_support import SLUG, admin, cancelled_and_refunded, order_of, pay, place, until
from tests.support import Database, launch_body, loopback_server
from tests.test_dashboard_browser import DOCS, browser, digits, wait_for_number

__all__ = ["browser"]  # the module's Chromium, shared with the dashboard's tests


@pytest.fixture
def server(sqlite_database: Database, tmp_path: Path) -> Iterator[httpx.Client]:
    settings = sqlite_database.settings(rehearsal_payments=str(tmp_path / "provider.db"))
    with loopback_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def placed_and_paid(
    server: httpx.Client, first: int, count: int, paying: int
) -> list[dict[str, Any]]:
    """`count` buyers order; the first `paying` of them pay their deposit."""
    orders = []
    for n in range(first, first + count):
        answer = place(server, f"b-{n}")
        assert answer.status_code == 201, answer.text
        orders.append(answer.json())
    for order in orders[:paying]:
        assert pay(server, order["payment"]).status_code == 200
    for order in orders[:paying]:
        until(lambda o=order: order_of(server, o), lambda o: o["status"] == "reserved")
    return orders


def test_the_dashboard_and_the_report_count_paid_orders(
    browser: Any, server: httpx.Client, sqlite_database: Database, tmp_path: Path
) -> None:
    refresh = os.environ.get("LAUNCHDAY_SCREENSHOTS") == "1"
    shots = DOCS if refresh else tmp_path
    body = launch_body(
        opens_at=datetime.now(UTC) - timedelta(minutes=2),
        payments={"provider": "rehearsal", "hold_minutes": 15},
    )
    assert server.post("/api/v1/launches", json=body, headers=admin()).status_code == 201
    first = placed_and_paid(server, 0, 30, paying=21)[0]
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    try:
        page.goto(f"{str(server.base_url).rstrip('/')}/launches/{SLUG}")
        page.wait_for_selector("#curve path")
        assert page.locator("#orders-label").text_content() == "Paid orders"
        assert page.locator("#placed-box").is_visible()
        assert (digits(page, "#counter"), digits(page, "#placed")) == (21, 30)

        placed_and_paid(server, 30, 12, paying=9)  # while the page is open
        wait_for_number(page, "#counter", 30)
        wait_for_number(page, "#placed", 42)
        time.sleep(1.2)  # the count-up animations settle
        assert (digits(page, "#counter"), digits(page, "#placed")) == (30, 42)
        page.screenshot(path=str(shots / "dashboard-payments.png"))

        # One buyer cancels inside the window: refunded. Then the report's page.
        cancelled_and_refunded(server, first)
        written = subprocess.run(
            [sys.executable, "-m", "launchday", "report", "--launch", SLUG, "--out", str(tmp_path)],
            env={**os.environ, "LAUNCHDAY_DB": sqlite_database.url},
            capture_output=True,
            text=True,
            check=False,
        )
        assert written.returncode == 0, written.stdout + written.stderr
        page.goto((tmp_path / "report.html").as_uri())
        rows = dict(
            zip(
                page.locator("#payments td:nth-child(1)").all_inner_texts(),
                page.locator("#payments td:nth-child(2)").all_inner_texts(),
                strict=True,
            )
        )
        assert (rows["orders placed"], rows["paid"], rows["pending payment"]) == ("42", "30", "12")
        assert rows["refunds sent"] == "1 (500,000)"
        assert rows["ledger"] == "holds"
        page.locator("#payments").screenshot(path=str(shots / "report-payments.png"))
    finally:
        page.close()
