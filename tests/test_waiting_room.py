"""The waiting room over the API: a fair pre-queue, first come first served after the
opening, admission at the admin's rate, tickets read from memory, and all of it kept
across a restart.

Time-driven cases run in-process with the settable clock (which the store's writer
reads too), so every count here is exact: nothing depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchday.app import create_app
from launchday.store.sqlite import sqlite_path
from tests.support import (
    ADMIN_KEY,
    T0,
    Api,
    Database,
    SettableClock,
    customer_token,
    in_process,
    launch_body,
    settings_for,
)

SLUG = "yu7-2025"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

_tokens: dict[str, str] = {}


def as_(customer: str) -> dict[str, str]:
    """A customer's bearer header (tokens cached: thousands of customers join here)."""
    token = _tokens.get(customer)
    if token is None:
        token = _tokens[customer] = customer_token(customer, ttl_hours=24 * 400)
    return {"Authorization": f"Bearer {token}"}


def create_room(
    api: Api,
    opens_at: datetime,
    rate: float,
    *,
    slug: str = SLUG,
    ttl: int = 900,
    **overrides: Any,
) -> None:
    body = launch_body(
        slug=slug,
        opens_at=opens_at,
        admission={"rate_per_second": rate, "token_ttl_seconds": ttl},
        **overrides,
    )
    response = api.post("/api/v1/launches", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text


def join(api: Api, customer: str, slug: str = SLUG, status: int = 201) -> dict[str, Any]:
    response = api.post(f"/api/v1/launches/{slug}/queue", headers=as_(customer))
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["customer"] == customer
    assert body["launch"] == slug
    return body


def read(api: Api, customer: str, ticket: str, slug: str = SLUG) -> dict[str, Any]:
    response = api.get(f"/api/v1/launches/{slug}/queue/{ticket}", headers=as_(customer))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    check_poll_advice(body, response.headers.get("retry-after"))
    return body


def check_poll_advice(body: dict[str, Any], retry_after: str | None) -> None:
    """A waiting ticket says when to ask again, in the body and as Retry-After (whole
    seconds, RFC 9110); an admitted or expired one has nothing left to wait for."""
    if body["state"] == "waiting":
        poll = body["poll_after_seconds"]
        assert isinstance(poll, int | float)
        assert 0 < poll <= 30
        assert retry_after is not None
        assert retry_after.isdigit()
        assert poll <= int(retry_after) < poll + 1
    else:
        assert body["poll_after_seconds"] is None
        assert retry_after is None


def admission(api: Api, slug: str = SLUG) -> dict[str, Any]:
    response = api.get(f"/api/v1/launches/{slug}/admission", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["waiting"] == body["joined"] - body["admitted"]
    return body


def change(api: Api, slug: str = SLUG, **body: Any) -> dict[str, Any]:
    response = api.post(f"/api/v1/launches/{slug}/admission", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def join_all(api: Api, customers: list[str], slug: str = SLUG) -> dict[str, str]:
    """Join each customer in order; their tickets."""
    return {c: join(api, c, slug)["ticket"] for c in customers}


def read_all(api: Api, tickets: dict[str, str], slug: str = SLUG) -> dict[str, dict[str, Any]]:
    return {c: read(api, c, t, slug) for c, t in tickets.items()}


def spearman(xs: list[int], ys: list[int]) -> float:
    """Spearman's rho of two lists of distinct values."""
    n = len(xs)
    rank_x = {v: i for i, v in enumerate(sorted(xs))}
    rank_y = {v: i for i, v in enumerate(sorted(ys))}
    d2 = sum((rank_x[x] - rank_y[y]) ** 2 for x, y in zip(xs, ys, strict=True))
    return 1 - 6 * d2 / (n * (n * n - 1))


def test_spearman_helper() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1


# --- order: a fair pre-queue, then first come first served ------------------------------


def test_the_pre_queue_is_put_in_a_fair_random_order_at_the_opening(
    api: Api, clock: SettableClock
) -> None:
    """FAIRNESS: 2,000 customers join before the opening in a known order; at the
    opening their positions are a permutation of 1..2000 that bears no relation to the
    order they joined in, nor to their customer ids."""
    n = 2000
    opens_at = clock.now + timedelta(minutes=10)
    create_room(api, opens_at, rate=1)
    ids = [f"c-{i:05d}" for i in range(n)]
    join_order = ids[:]
    random.Random(20261122).shuffle(join_order)
    tickets: dict[str, str] = {}
    for index, customer in enumerate(join_order):
        clock.advance(microseconds=50)  # each joins strictly after the one before
        ticket = join(api, customer)
        assert ticket["state"] == "waiting"
        assert ticket["pre_queue"] is True
        assert ticket["position"] is None
        assert ticket["people_ahead"] is None
        assert ticket["admission_token"] is None
        if index % 500 == 0:
            assert ticket["eta_seconds"] == pytest.approx((opens_at - clock.now).total_seconds())
        tickets[customer] = ticket["ticket"]
    assert len(set(tickets.values())) == n

    clock.now = opens_at
    readings = read_all(api, tickets)
    positions = {c: r["position"] for c, r in readings.items()}
    assert sorted(positions.values()) == list(range(1, n + 1))
    for reading in readings.values():
        assert reading["state"] == "waiting"
        assert reading["people_ahead"] == reading["position"] - 1
        assert reading["pre_queue"] is True
    figures = admission(api)
    assert (figures["joined"], figures["admitted"], figures["waiting"]) == (n, 0, n)

    by_join = spearman(list(range(n)), [positions[c] for c in join_order])
    by_id = spearman(list(range(n)), [positions[c] for c in ids])
    assert abs(by_join) < 0.1, by_join
    assert abs(by_id) < 0.1, by_id
    # Later joiners queue behind the whole pre-queue, first come first served.
    late = [f"late-{i}" for i in range(5)]
    for offset, customer in enumerate(late, start=1):
        ticket = join(api, customer)
        assert ticket["pre_queue"] is False
        assert ticket["position"] == n + offset
        assert ticket["people_ahead"] == n + offset - 1
    # The shuffle is fixed once made: reading again changes nobody's place.
    again = read_all(api, dict(list(tickets.items())[:200]))
    assert all(again[c]["position"] == positions[c] for c in again)


def test_two_launches_with_the_same_pre_queue_get_unrelated_orders(
    api: Api, clock: SettableClock
) -> None:
    """The order comes from each launch's own secret seed, not from who the customers
    are or when they came: nobody can work out or arrange a good place."""
    n = 300
    opens_at = clock.now + timedelta(minutes=5)
    create_room(api, opens_at, rate=1, slug="launch-a")
    create_room(api, opens_at, rate=1, slug="launch-b")
    customers = [f"c-{i:04d}" for i in range(n)]
    a = join_all(api, customers, "launch-a")
    b = join_all(api, customers, "launch-b")
    clock.now = opens_at
    pos_a = [r["position"] for r in read_all(api, a, "launch-a").values()]
    pos_b = [r["position"] for r in read_all(api, b, "launch-b").values()]
    assert sorted(pos_a) == sorted(pos_b) == list(range(1, n + 1))
    assert pos_a != pos_b
    assert abs(spearman(pos_a, pos_b)) < 0.25
    assert abs(spearman(list(range(n)), pos_a)) < 0.25


def test_after_the_opening_customers_queue_first_come_first_served_behind_the_pre_queue(
    api: Api, clock: SettableClock
) -> None:
    opens_at = clock.now + timedelta(minutes=1)
    create_room(api, opens_at, rate=1)
    early = join_all(api, [f"early-{i}" for i in range(20)])
    clock.now = opens_at + timedelta(seconds=2.5)  # two of the pre-queue are in
    late: dict[str, str] = {}
    for i in range(10):
        clock.advance(milliseconds=40)
        late[f"late-{i}"] = join(api, f"late-{i}")["ticket"]
    # 2.9 s after the opening: still two admitted.
    assert admission(api)["admitted"] == 2
    early_readings = read_all(api, early)
    waiting_early = sorted(
        r["position"] for r in early_readings.values() if r["state"] == "waiting"
    )
    assert waiting_early == list(range(1, 19))
    assert sum(r["state"] == "admitted" for r in early_readings.values()) == 2
    late_positions = [r["position"] for r in read_all(api, late).values()]
    assert late_positions == list(range(19, 29))
    assert all(not r["pre_queue"] for r in read_all(api, late).values())


def test_joining_again_gives_the_same_ticket_and_position(
    client: Api, clock: SettableClock
) -> None:
    """In-process and over the real server (on the wall clock: the launch opened long
    ago; at one admission per 1,000 s, nobody is admitted during the test)."""
    create_room(client, opens_at=T0 - timedelta(days=1), rate=0.001)
    first = {c: join(client, c) for c in ("c-alice", "c-bob", "c-carol")}
    assert [first[c]["position"] for c in first] == [1, 2, 3]
    for customer, ticket in first.items():
        again = join(client, customer, status=200)
        assert again["ticket"] == ticket["ticket"]
        assert again["position"] == ticket["position"]
        assert again["joined_at"] == ticket["joined_at"]
        assert read(client, customer, ticket["ticket"])["position"] == ticket["position"]
    assert admission(client)["joined"] == 3


def test_a_ticket_is_read_only_by_its_customer(client: Api) -> None:
    create_room(client, opens_at=T0 - timedelta(days=1), rate=0.001)
    ticket = join(client, "c-alice")["ticket"]
    join(client, "c-bob")
    path = f"/api/v1/launches/{SLUG}/queue"
    theirs = client.get(f"{path}/{ticket}", headers=as_("c-bob"))
    unknown = "Z" * len(ticket)
    nothing = client.get(f"{path}/{unknown}", headers=as_("c-bob"))
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.json()["error"]["code"] == "not_found"
    assert "c-alice" not in theirs.text
    assert theirs.text.replace(ticket, "ID") == nothing.text.replace(unknown, "ID")
    assert client.get(f"{path}/{ticket}").status_code == 401
    assert client.get(f"{path}/{ticket}", headers=ADMIN).status_code == 403
    other_launch = client.get(f"/api/v1/launches/other/queue/{ticket}", headers=as_("c-alice"))
    assert other_launch.status_code == 404
    assert read(client, "c-alice", ticket)["position"] == 1


def test_a_launch_without_a_waiting_room_has_no_queue(api: Api) -> None:
    api.create_launch()
    joined = api.post(f"/api/v1/launches/{SLUG}/queue", headers=as_("c-alice"))
    assert joined.status_code == 404, joined.text
    assert joined.json()["error"]["code"] == "not_found"
    assert api.get(f"/api/v1/launches/{SLUG}/admission", headers=ADMIN).status_code == 404


# --- admission at the rate --------------------------------------------------------------


def test_admission_runs_at_the_rate_in_launch_time(api: Api, clock: SettableClock) -> None:
    """RATE: at time_scale 100 and 50 per launch second, a pre-queue of 3,000 is admitted
    50 x T after T launch seconds (T/100 real seconds), by the admission figures and by
    the tickets themselves."""
    n, rate, scale = 3000, 50, 100
    opens_at = clock.now + timedelta(minutes=1)
    create_room(api, opens_at, rate=rate, time_scale=scale)
    tickets = join_all(api, [f"c-{i:05d}" for i in range(n)])

    def at_launch_second(seconds: float) -> None:
        clock.now = opens_at + timedelta(seconds=seconds / scale)

    for seconds in (4, 17.5):
        at_launch_second(seconds)
        admitted = admission(api)["admitted"]
        assert abs(admitted - rate * seconds) <= 0.05 * rate * seconds
        assert abs(admitted - rate * seconds) <= 1

    at_launch_second(30)
    figures = admission(api)
    assert abs(figures["admitted"] - rate * 30) <= 0.05 * rate * 30
    readings = read_all(api, tickets)
    admitted_tickets = [r for r in readings.values() if r["state"] == "admitted"]
    waiting = [r for r in readings.values() if r["state"] == "waiting"]
    assert len(admitted_tickets) == figures["admitted"]
    assert abs(len(admitted_tickets) - rate * 30) <= 0.05 * rate * 30
    assert len(admitted_tickets) + len(waiting) == n
    assert sorted(r["position"] for r in waiting) == list(range(1, len(waiting) + 1))
    for reading in waiting:
        # ETA in launch seconds: the ones ahead and this one, at 50 a second.
        p = reading["position"]
        assert (p - 1) / rate - 1e-3 <= reading["eta_seconds"] <= p / rate + 1e-3
        assert reading["admission_token"] is None
    for reading in admitted_tickets:
        assert reading["admission_token"]
        assert reading["position"] is None
        assert reading["people_ahead"] == 0
        assert reading["eta_seconds"] == 0
        assert reading["admitted_at"] is not None
        admitted_at = datetime.fromisoformat(reading["admitted_at"])
        expires_at = datetime.fromisoformat(reading["expires_at"])
        assert expires_at - admitted_at == timedelta(seconds=900)
        assert opens_at < admitted_at <= opens_at + timedelta(seconds=30)

    at_launch_second(60)
    assert admission(api)["admitted"] == n
    at_launch_second(60 + 900 + 1)  # the last was admitted at 60 s; its token lived 900 s
    last = max(waiting, key=lambda r: r["position"])
    assert read(api, last["customer"], last["ticket"])["state"] == "expired"


def test_an_eta_is_when_the_ticket_is_admitted(api: Api, clock: SettableClock) -> None:
    opens_at = clock.now + timedelta(minutes=1)
    create_room(api, opens_at, rate=7)
    tickets = join_all(api, [f"c-{i}" for i in range(40)])
    clock.now = opens_at + timedelta(seconds=1.3)
    readings = read_all(api, tickets)
    for customer in list(tickets)[:10]:
        reading = readings[customer]
        if reading["state"] != "waiting":
            continue
        eta = timedelta(seconds=reading["eta_seconds"])
        before = clock.now
        clock.now = before + eta - timedelta(milliseconds=1)
        assert read(api, customer, tickets[customer])["state"] == "waiting"
        clock.now = before + eta + timedelta(milliseconds=1)
        assert read(api, customer, tickets[customer])["state"] == "admitted"
        clock.now = before


def test_an_admin_changes_the_rate_pauses_and_resumes_at_once(
    api: Api, clock: SettableClock
) -> None:
    opens_at = clock.now + timedelta(minutes=1)
    create_room(api, opens_at, rate=10)
    tickets = join_all(api, [f"c-{i:04d}" for i in range(1000)])

    clock.now = opens_at + timedelta(seconds=10)
    assert admission(api)["admitted"] == 100
    changed = change(api, rate_per_second=40)
    assert changed["rate_per_second"] == 40
    assert changed["paused"] is False
    assert changed["admitted"] == 100  # in force from now: nothing retroactive
    clock.advance(seconds=5)
    assert admission(api)["admitted"] == 100 + 40 * 5

    paused = change(api, paused=True)
    assert (paused["paused"], paused["rate_per_second"], paused["admitted"]) == (True, 40, 300)
    readings = read_all(api, tickets)
    front = next(c for c, r in readings.items() if r["position"] == 1)
    assert readings[front]["eta_seconds"] is None  # nobody can say while paused
    clock.advance(hours=1)
    assert admission(api)["admitted"] == 300
    still = read(api, front, tickets[front])
    assert (still["state"], still["position"]) == ("waiting", 1)

    resumed = change(api, paused=False)
    assert (resumed["paused"], resumed["rate_per_second"], resumed["admitted"]) == (False, 40, 300)
    # No catch-up for the hour paused: admission goes on at 40 a second from here.
    assert read(api, front, tickets[front])["eta_seconds"] == pytest.approx(1 / 40)
    clock.advance(seconds=2)
    assert admission(api)["admitted"] == 380
    assert read(api, front, tickets[front])["state"] == "admitted"

    slower = change(api, rate_per_second=0.5)
    assert slower["admitted"] == 380
    clock.advance(seconds=10)
    assert admission(api)["admitted"] == 385
    assert admission(api)["rate_per_second"] == 0.5


def test_a_rate_changed_before_the_opening_runs_from_the_opening(
    api: Api, clock: SettableClock
) -> None:
    opens_at = clock.now + timedelta(minutes=1)
    create_room(api, opens_at, rate=10)
    join_all(api, [f"c-{i}" for i in range(500)])
    assert change(api, rate_per_second=100)["admitted"] == 0
    clock.now = opens_at + timedelta(seconds=2)
    assert admission(api)["admitted"] == 200


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        pytest.param({}, {"paused": True}, 401, id="nobody"),
        pytest.param(as_("c-alice"), {"paused": True}, 403, id="a customer"),
        pytest.param(ADMIN, {"rate_per_second": 0}, 422, id="a rate of zero"),
        pytest.param(ADMIN, {"rate_per_second": -5}, 422, id="a negative rate"),
        pytest.param(ADMIN, {"paused": "yes"}, 422, id="paused not a boolean"),
    ],
)
def test_only_the_admin_changes_admission_and_only_to_a_valid_rate(
    api: Api, clock: SettableClock, headers: dict[str, str], body: dict[str, Any], status: int
) -> None:
    create_room(api, clock.now - timedelta(minutes=1), rate=10)
    response = api.post(f"/api/v1/launches/{SLUG}/admission", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert admission(api)["rate_per_second"] == 10
    assert admission(api)["paused"] is False
    if headers != ADMIN:
        read_as = api.get(f"/api/v1/launches/{SLUG}/admission", headers=headers)
        assert read_as.status_code == status


def test_people_who_never_come_back_do_not_stall_the_queue(api: Api, clock: SettableClock) -> None:
    opens_at = clock.now + timedelta(minutes=1)
    create_room(api, opens_at, rate=10, ttl=5)
    tickets = join_all(api, [f"c-{i}" for i in range(100)])
    clock.now = opens_at
    positions = {c: r["position"] for c, r in read_all(api, tickets).items()}
    first = min(positions, key=positions.__getitem__)
    last = max(positions, key=positions.__getitem__)
    # Nobody polls again; 12 s later everyone has had their turn.
    clock.now = opens_at + timedelta(seconds=12)
    assert admission(api)["admitted"] == 100
    late_reader = read(api, last, tickets[last])
    assert late_reader["state"] == "admitted"  # admitted at 10 s, token valid 5 s
    assert late_reader["admission_token"]
    gone = read(api, first, tickets[first])
    assert gone["state"] == "expired"  # admitted at 0.1 s, never came: expired at 5.1 s
    assert gone["admission_token"] is None
    assert gone["position"] is None


def test_capacity_unused_while_nobody_waits_is_not_banked(api: Api, clock: SettableClock) -> None:
    create_room(api, clock.now - timedelta(hours=1), rate=10)  # an hour open, nobody came
    burst = [f"c-{i:03d}" for i in range(50)]
    tickets = join_all(api, burst)
    assert admission(api)["admitted"] == 0
    assert [r["position"] for r in read_all(api, tickets).values()] == list(range(1, 51))
    clock.advance(seconds=1)
    assert admission(api)["admitted"] == 10
    readings = read_all(api, tickets)
    assert [readings[c]["state"] for c in burst[:11]] == ["admitted"] * 10 + ["waiting"]
    clock.advance(seconds=4)
    assert admission(api)["admitted"] == 50


# --- reading a ticket writes nothing ----------------------------------------------------


def file_marks(db: Path) -> dict[str, tuple[int, int]]:
    marks = {}
    for path in (db, Path(f"{db}-wal")):
        if path.exists():
            stat = os.stat(path)
            marks[path.name] = (stat.st_mtime_ns, stat.st_size)
    return marks


def write_marks(database: Database) -> dict[str, Any]:
    """What any commit would change: every row, and on SQLite the file's commit counter
    and sizes, on PostgreSQL the write-ahead log's position (the test cluster runs no
    autovacuum, so nothing else writes meanwhile)."""
    marks: dict[str, Any] = {"rows": database.snapshot()}
    if database.is_postgres:
        marks["wal"] = database.scalar("SELECT pg_current_wal_insert_lsn()::text")
    else:
        db = Path(sqlite_path(database.url))
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            marks["data_version"] = conn.execute("PRAGMA data_version").fetchone()[0]
        finally:
            conn.close()
        marks["files"] = file_marks(db)
    return marks


def test_reading_a_ticket_writes_nothing(
    api: Api, clock: SettableClock, database: Database
) -> None:
    """Thousands of polls, waiting, admitted (the token minted), expired: the database
    sees no commit from any of them."""
    opens_at = clock.now + timedelta(minutes=1)
    create_room(api, opens_at, rate=20, ttl=3)
    tickets = join_all(api, [f"c-{i}" for i in range(60)])
    before = write_marks(database)
    states = set()
    for step in range(12):
        clock.now = opens_at + timedelta(seconds=step * 0.75) - timedelta(seconds=1)
        for customer, ticket in tickets.items():
            states.add(read(api, customer, ticket)["state"])
    assert states == {"waiting", "admitted", "expired"}
    after = write_marks(database)
    if not database.is_postgres:
        # data_version is per connection: read on a new one it says nothing, so compare
        # the files (a commit appends to the WAL file) and the rows.
        del before["data_version"], after["data_version"]
    assert after == before


class GatedClock(SettableClock):
    """A settable clock that can hold the store's writer thread the moment it reads the
    time for a batch, so a test can act between the stamp and the commit."""

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.gate: threading.Event | None = None
        self.stamped = threading.Event()

    def __call__(self) -> datetime:
        gate = self.gate
        if gate is not None and threading.current_thread() is not threading.main_thread():
            now = self.now
            self.stamped.set()
            gate.wait(10)
            return now
        return self.now


def test_a_join_stamped_before_the_opening_but_committed_after_moves_nobody(
    database: Database,
) -> None:
    """The opening minute: a join stamped by the writer 1 ms before the opening is still
    committing when the first poll after the opening shows everyone their place. Nobody
    already shown a place may be moved by it, and every place stays unique."""
    clock = GatedClock(T0.replace(hour=16))
    opens_at = clock.now + timedelta(minutes=1)
    app = create_app(database.settings(), clock=clock)
    queue = f"/api/v1/launches/{SLUG}/queue"

    async def scenario() -> tuple[dict[str, int], dict[str, int], dict[str, Any]]:
        await app.startup()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:

            async def positions(tickets: dict[str, str]) -> dict[str, int]:
                found = {}
                for customer, ticket in tickets.items():
                    response = await http.get(f"{queue}/{ticket}", headers=as_(customer))
                    found[customer] = response.json()["position"]
                return found

            body = launch_body(
                opens_at=opens_at, admission={"rate_per_second": 1, "token_ttl_seconds": 900}
            )
            assert (await http.post("/api/v1/launches", json=body, headers=ADMIN)).is_success
            tickets = {}
            for i in range(30):
                joined = await http.post(queue, headers=as_(f"c-{i}"))
                tickets[f"c-{i}"] = joined.json()["ticket"]
            clock.now = opens_at - timedelta(milliseconds=1)
            clock.gate = threading.Event()
            late = asyncio.create_task(http.post(queue, headers=as_("c-late")))
            for _ in range(10_000):
                if clock.stamped.is_set():
                    break
                await asyncio.sleep(0.001)
            clock.now = opens_at + timedelta(milliseconds=1)
            # The first polls after the opening. (An app that holds them until the
            # join in flight is applied is right too: the writer is let go after 1 s.)
            reading = asyncio.create_task(positions(tickets))
            for _ in range(200):
                if reading.done():
                    break
                await asyncio.sleep(0.005)
            clock.gate.set()
            shown = await reading
            clock.gate = None
            late_ticket = (await late).json()
            later = await positions(tickets)
            tickets["c-late"] = late_ticket["ticket"]
            everyone = await positions(tickets)
        await app.shutdown()
        return shown, later, everyone

    shown, later, everyone = asyncio.run(scenario())
    assert len(set(shown.values())) == 30
    moved = {c: (shown[c], later[c]) for c in shown if later[c] != shown[c]}
    assert not moved, f"{len(moved)} customers moved after the opening: {moved}"
    assert sorted(everyone.values()) == list(range(1, 32))


# --- a restart --------------------------------------------------------------------------


def test_the_queue_survives_a_restart_without_reshuffling_anyone(database: Database) -> None:
    settings = database.settings()
    clock = SettableClock(T0.replace(hour=16))
    opens_at = clock.now + timedelta(minutes=1)
    early = [f"early-{i:03d}" for i in range(200)]
    late = [f"late-{i}" for i in range(20)]
    with in_process(settings, clock) as (api, _app):
        create_room(api, opens_at, rate=10, ttl=30)
        tickets = join_all(api, early)
        clock.now = opens_at + timedelta(seconds=3)
        for customer in late:
            clock.advance(milliseconds=100)
            tickets[customer] = join(api, customer)["ticket"]
        clock.now = opens_at + timedelta(seconds=6)
        change(api, rate_per_second=25)
        clock.now = opens_at + timedelta(seconds=8)
        change(api, paused=True)
        clock.now = opens_at + timedelta(seconds=20)
        before = read_all(api, tickets)
        figures = admission(api)
    assert figures["admitted"] == 10 * 6 + 25 * 2
    assert figures["paused"] is True

    with in_process(settings, clock) as (api, _app):
        after = read_all(api, tickets)
        assert after == before
        assert admission(api) == figures
        for customer in (early[0], late[-1]):
            again = join(api, customer, status=200)
            assert again["ticket"] == tickets[customer]
            assert again["position"] == before[customer]["position"]
        # The room goes on where it was: resumed, at the rate set before the restart.
        resumed = change(api, paused=False)
        assert (resumed["rate_per_second"], resumed["admitted"]) == (25, 110)
        clock.advance(seconds=2)
        assert admission(api)["admitted"] == 160
        moved = read_all(api, tickets)
        for customer, reading in before.items():
            if reading["state"] == "waiting" and reading["position"] > 50:
                assert moved[customer]["position"] == reading["position"] - 50
        newcomer = join(api, "after-restart")
        assert newcomer["position"] == len(tickets) - 160 + 1

    with in_process(settings, clock) as (api, _app):
        assert read_all(api, tickets) == moved


def test_the_pre_queue_order_is_the_same_after_a_restart_before_the_opening(
    database: Database, tmp_path: Path
) -> None:
    """Restarted while everyone is still in the pre-queue: the order made at the opening
    is the one the first server would have made."""
    clock = SettableClock(T0.replace(hour=16))
    opens_at = clock.now + timedelta(minutes=1)
    customers = [f"c-{i:03d}" for i in range(300)]
    settings_a = database.settings()
    settings_b = settings_for(tmp_path / "b.db")
    with in_process(settings_a, clock) as (api, _app):
        create_room(api, opens_at, rate=1)
        tickets = join_all(api, customers)
    with in_process(settings_a, clock) as (api, _app):
        clock.now = opens_at
        first = {c: r["position"] for c, r in read_all(api, tickets).items()}
    with in_process(settings_a, clock) as (api, _app):
        assert {c: r["position"] for c, r in read_all(api, tickets).items()} == first
    # A launch of its own, with the same customers, orders them differently.
    clock.now = T0.replace(hour=16)
    with in_process(settings_b, clock) as (api, _app):
        create_room(api, opens_at, rate=1)
        other = join_all(api, customers)
        clock.now = opens_at
        assert {c: r["position"] for c, r in read_all(api, other).items()} != first
    assert math.isclose(sum(first.values()), 300 * 301 / 2)


def test_admission_tokens_kept_for_reuse_are_bounded_and_reminted_alike(
    database: Database, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large room must not keep a token per admitted ticket: only the most recent are
    kept, and one minted again for an older ticket is the same token."""
    monkeypatch.setattr("launchday.services.waiting_room.MINTED_KEPT", 3)
    with in_process(database.settings(), clock) as (api, app):
        opens_at = clock.now - timedelta(seconds=10)
        create_room(api, opens_at, rate=1000)
        tickets = join_all(api, [f"c-{i}" for i in range(8)])
        clock.advance(seconds=1)  # everyone admitted, nobody expired
        first = {c: read(api, c, t)["admission_token"] for c, t in tickets.items()}
        assert all(first.values())
        assert len(app.services.waiting_rooms._minted) == 3
        again = {c: read(api, c, t)["admission_token"] for c, t in tickets.items()}
        assert again == first
        assert len(app.services.waiting_rooms._minted) == 3
