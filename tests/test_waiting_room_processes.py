"""One waiting room served by three server processes on one PostgreSQL database.

Every customer joins and reads through whichever server the request lands on: there
must be one queue (no customer with two tickets), one order of admission (every server
shows each ticket the same place), and the pre-queue complete at the opening whatever
server took each join.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Api, Database, servers
from tests.test_waiting_room import admission, as_, change, create_room, join

PRE_QUEUE = 240
LATE = 30


@pytest.fixture
def three(pg_database: Database, tmp_path: Path) -> Iterator[list[Api]]:
    """Clients of three `launchday serve` processes on one database."""
    with servers(pg_database, 3, tmp_path) as bases, ExitStack() as stack:
        yield [
            Api(stack.enter_context(httpx.Client(base_url=base, timeout=30)).request)
            for base in bases
        ]


def ticket_on(api: Api, customer: str, ticket: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/launches/yu7-2025/queue/{ticket}", headers=as_(customer))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_three_processes_keep_one_queue_in_one_order(three: list[Api]) -> None:
    first = three[0]
    opens_at = datetime.now(UTC) + timedelta(seconds=8)
    create_room(first, opens_at, rate=50)
    # Paused from the opening, so that a ticket's position is its place in the order
    # however long the reads take; admission is resumed at the end.
    assert change(first, paused=True)["paused"] is True

    tickets: dict[str, str] = {}
    for n in range(PRE_QUEUE):
        customer = f"pre-{n:03d}"
        tickets[customer] = join(three[n % 3], customer)["ticket"]
    # Joining again through the other servers gives the same ticket: no double tickets.
    for n in range(0, PRE_QUEUE, 8):
        customer = f"pre-{n:03d}"
        for api in three:
            again = join(api, customer, status=200)
            assert again["ticket"] == tickets[customer]
    assert datetime.now(UTC) < opens_at, "the pre-queue must be complete before the opening"

    wait_until(opens_at + timedelta(milliseconds=200))
    shown = [{c: ticket_on(api, c, t)["position"] for c, t in tickets.items()} for api in three]
    assert shown[0] == shown[1] == shown[2], "every server shows each ticket the same place"
    assert sorted(shown[0].values()) == list(range(1, PRE_QUEUE + 1))
    # The shuffle, not the join order or the server that took the join, sets the order.
    by_join = [shown[0][f"pre-{n:03d}"] for n in range(PRE_QUEUE)]
    assert by_join != sorted(by_join)

    # After the opening, first come first served behind the pre-queue, across servers.
    late: dict[str, str] = {}
    for n in range(LATE):
        customer = f"late-{n:02d}"
        late[customer] = join(three[(n + 1) % 3], customer)["ticket"]
    for api in three:
        places = [ticket_on(api, c, t)["position"] for c, t in late.items()]
        assert places == list(range(PRE_QUEUE + 1, PRE_QUEUE + LATE + 1))

    counts = [admission(api) for api in three]
    assert {(c["joined"], c["admitted"]) for c in counts} == {(PRE_QUEUE + LATE, 0)}

    # Resumed through one server for a second, then paused through another: every server
    # has admitted the same people, the first in the order, and as many as the rate let.
    resumed = change(three[2], paused=False)
    time.sleep(1.0)
    paused = change(three[1], paused=True)
    count = paused["admitted"] - resumed["admitted"]
    assert 40 <= count <= 100, count
    time.sleep(0.5)  # longer than any server's copy may lag behind the database
    everyone = {**tickets, **late}
    rank = shown[0] | {c: PRE_QUEUE + 1 + n for n, c in enumerate(late)}
    for api in three:
        states = {c: ticket_on(api, c, t)["state"] for c, t in everyone.items()}
        admitted = sorted(rank[c] for c, s in states.items() if s == "admitted")
        assert admitted == list(range(1, paused["admitted"] + 1)), "the same, in rank order"
        assert admission(api)["admitted"] == paused["admitted"]
