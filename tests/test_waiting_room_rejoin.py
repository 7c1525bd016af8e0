"""The second chance over the API: a buyer whose admission lapsed joins again, keeps the
place within the launch's grace (once), else goes to the back of the queue; never two
places, never ahead of anyone by lapsing; the same after a restart and through several
server processes; and the report counts who lapsed, came back and ordered.

Timed cases run in-process with the settable clock on SQLite and PostgreSQL: a room of
10 admissions a second, tokens of 60 s, a grace of 30 s.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchday.domain.clock import to_micros
from tests.support import (
    ADMIN_KEY,
    T0,
    Api,
    Database,
    SettableClock,
    http_api,
    in_process,
    launch_body,
    servers,
    settings_for,
)
from tests.test_waiting_room import SLUG, admission, as_, join, read

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
TTL, GRACE, RATE = 60, 30, 10


def settings_for_file(path: Path) -> Any:
    return settings_for(path)


def open_room(api: Api, opens_at: datetime, *, grace: int | None = GRACE, **extra: Any) -> None:
    room: dict[str, Any] = {"rate_per_second": RATE, "token_ttl_seconds": TTL}
    if grace is not None:
        room["rejoin_grace_seconds"] = grace
    body = launch_body(slug=SLUG, opens_at=opens_at, admission=room, **extra)
    created = api.post("/api/v1/launches", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text


def place(api: Api, customer: str, token: str | None, key: str = "k") -> httpx.Response:
    headers = {**as_(customer), "Idempotency-Key": f"{customer}-{key}"}
    if token:
        headers["Admission-Token"] = token
    return api.post(f"/api/v1/launches/{SLUG}/orders", json={"sku": "YU7-MAX"}, headers=headers)


def rejoins_stored(database: Database) -> int:
    return int(database.scalar("SELECT count(*) FROM queue_rejoins"))


def test_a_lapsed_buyer_who_comes_back_within_the_grace_keeps_the_place_and_orders(
    api: Api, clock: SettableClock, database: Database
) -> None:
    opens_at = clock.now
    open_room(api, opens_at)
    ticket = join(api, "c-late-payer")
    clock.advance(seconds=1)
    admitted = read(api, "c-late-payer", ticket["ticket"])
    assert admitted["state"] == "admitted"
    old_token = admitted["admission_token"]
    # The phone goes down past the token's life; the ticket says how long its place holds.
    clock.advance(seconds=TTL + 5)
    lapsed = read(api, "c-late-payer", ticket["ticket"])
    assert lapsed["state"] == "expired"
    assert lapsed["admission_token"] is None
    expires_at = datetime.fromisoformat(lapsed["expires_at"])
    assert lapsed["keeps_place_until"] is not None
    assert datetime.fromisoformat(lapsed["keeps_place_until"]) == expires_at + timedelta(
        seconds=GRACE
    )
    refused = place(api, "c-late-payer", old_token)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "admission_required"

    back = join(api, "c-late-payer", status=200)
    assert back["ticket"] == ticket["ticket"]
    assert back["state"] == "admitted"
    assert back["rejoins"] == 1
    assert back["rejoined_at"] is not None
    assert datetime.fromisoformat(back["admitted_at"]) == datetime.fromisoformat(
        back["rejoined_at"]
    )
    assert back["admission_token"]
    assert back["admission_token"] != old_token
    assert rejoins_stored(database) == 1
    # Joining again while admitted changes nothing.
    again = join(api, "c-late-payer", status=200)
    assert (again["rejoins"], again["admission_token"]) == (1, back["admission_token"])
    assert rejoins_stored(database) == 1
    placed = place(api, "c-late-payer", back["admission_token"])
    assert placed.status_code == 201, placed.text
    counts = admission(api)
    assert counts["rejoined"] == {"kept_place": 1, "back_of_queue": 0}


def test_a_place_is_kept_once_then_a_lapsed_ticket_goes_to_the_back(
    api: Api, clock: SettableClock
) -> None:
    opens_at = clock.now
    open_room(api, opens_at)
    ticket = join(api, "c-twice")["ticket"]
    clock.advance(seconds=1)
    assert read(api, "c-twice", ticket)["state"] == "admitted"
    clock.advance(seconds=TTL + 1)
    assert join(api, "c-twice", status=200)["state"] == "admitted"  # kept: once
    clock.advance(seconds=TTL + 1)  # lapses again, inside a grace it no longer has
    lapsed = read(api, "c-twice", ticket)
    assert lapsed["state"] == "expired"
    assert lapsed["keeps_place_until"] is None
    # A crowd joins meanwhile; coming back puts this ticket behind all of them.
    crowd = [join(api, f"c-crowd-{n:03d}")["ticket"] for n in range(200)]
    back = join(api, "c-twice", status=200)
    assert back["state"] == "waiting"
    assert back["rejoins"] == 2
    waiting_crowd = [read(api, f"c-crowd-{n:03d}", t) for n, t in enumerate(crowd)]
    ahead = [r for r in waiting_crowd if r["state"] == "waiting"]
    assert back["position"] == len(ahead) + 1
    assert all(r["position"] < back["position"] for r in ahead)
    # A newcomer after it is behind it: first come, first served.
    newcomer = join(api, "c-newcomer")
    assert newcomer["position"] == back["position"] + 1
    counts = admission(api)
    assert counts["rejoined"] == {"kept_place": 1, "back_of_queue": 1}
    assert counts["waiting"] == counts["joined"] - counts["admitted"]
    # Its turn comes at the rate, and it can order then.
    clock.advance(seconds=back["eta_seconds"] + 0.001)
    turn = read(api, "c-twice", ticket)
    assert turn["state"] == "admitted"
    assert place(api, "c-twice", turn["admission_token"]).status_code == 201


def test_after_the_grace_a_lapsed_ticket_goes_to_the_back(api: Api, clock: SettableClock) -> None:
    open_room(api, clock.now)
    ticket = join(api, "c-slow")["ticket"]
    others = [join(api, f"c-other-{n}")["ticket"] for n in range(30)]
    clock.advance(seconds=5)  # everyone admitted
    assert read(api, "c-slow", ticket)["state"] == "admitted"
    clock.advance(seconds=TTL + GRACE + 1)
    later = [join(api, f"c-later-{n}")["ticket"] for n in range(40)]
    back = join(api, "c-slow", status=200)
    assert back["state"] == "waiting"
    assert back["position"] == 41  # behind the 40 who joined just before it
    assert all(read(api, f"c-other-{n}", t)["state"] == "expired" for n, t in enumerate(others))
    assert len(later) == 40


def test_a_launch_with_no_grace_sends_every_lapsed_ticket_to_the_back(
    api: Api, clock: SettableClock
) -> None:
    open_room(api, clock.now, grace=0)
    launch = api.get(f"/api/v1/launches/{SLUG}").json()
    assert launch["admission"]["rejoin_grace_seconds"] == 0
    ticket = join(api, "c-strict")["ticket"]
    clock.advance(seconds=1)
    clock.advance(seconds=TTL + 1)
    lapsed = read(api, "c-strict", ticket)
    assert (lapsed["state"], lapsed["keeps_place_until"]) == ("expired", None)
    back = join(api, "c-strict", status=200)
    assert back["state"] == "waiting"
    assert back["position"] == 1


def test_the_grace_defaults_to_the_tokens_life(api: Api, clock: SettableClock) -> None:
    open_room(api, clock.now, grace=None)
    launch = api.get(f"/api/v1/launches/{SLUG}").json()
    assert launch["admission"]["rejoin_grace_seconds"] == TTL


def test_waiting_or_admitted_tickets_cannot_take_a_second_place(
    api: Api, clock: SettableClock, database: Database
) -> None:
    """Nobody holds two places: joining again before the ticket lapsed changes nothing."""
    opens_at = clock.now + timedelta(minutes=1)
    open_room(api, opens_at)
    tickets = {f"c-{n:02d}": join(api, f"c-{n:02d}")["ticket"] for n in range(50)}
    clock.now = opens_at + timedelta(seconds=2)  # 20 admitted, 30 waiting
    before = {c: read(api, c, t) for c, t in tickets.items()}
    for customer in tickets:
        again = join(api, customer, status=200)
        assert again["rejoins"] == 0
        assert again["state"] == before[customer]["state"]
        assert again["position"] == before[customer]["position"]
    assert rejoins_stored(database) == 0
    assert admission(api)["joined"] == 50


def test_a_lapse_on_purpose_never_moves_anyone_ahead(api: Api, clock: SettableClock) -> None:
    """Letting an admission lapse and coming back late is never better than waiting: the
    ticket lands behind everyone who joined before its return."""
    opens_at = clock.now + timedelta(minutes=1)
    open_room(api, opens_at)
    gamer = join(api, "c-gamer")["ticket"]
    for n in range(100):
        join(api, f"c-early-{n:03d}")
    clock.now = opens_at + timedelta(seconds=TTL + GRACE + 20)  # all admitted; some lapsed
    queue = [join(api, f"c-queue-{n:03d}")["ticket"] for n in range(300)]
    back = join(api, "c-gamer", status=200)
    assert back["state"] == "waiting"
    positions = [read(api, f"c-queue-{n:03d}", t)["position"] for n, t in enumerate(queue)]
    assert max(p for p in positions if p is not None) < back["position"]
    assert read(api, "c-gamer", gamer)["position"] == back["position"]


def test_rejoins_are_kept_across_a_restart(database: Database) -> None:
    settings = database.settings()
    clock = SettableClock(T0.replace(hour=16))
    opens_at = clock.now
    with in_process(settings, clock) as (api, _app):
        open_room(api, opens_at)
        keeper = join(api, "c-keeper")["ticket"]
        mover = join(api, "c-mover")["ticket"]
        clock.advance(seconds=1)
        clock.advance(seconds=TTL + 1)
        assert join(api, "c-keeper", status=200)["state"] == "admitted"
        clock.advance(seconds=GRACE + 5)
        crowd = {f"c-c{n}": join(api, f"c-c{n}")["ticket"] for n in range(25)}
        moved = join(api, "c-mover", status=200)
        assert moved["state"] == "waiting"
        everyone = {"c-keeper": keeper, "c-mover": mover, **crowd}
        before = {c: read(api, c, t) for c, t in everyone.items()}
        figures = admission(api)
    with in_process(settings, clock) as (api, _app):
        after = {c: read(api, c, t) for c, t in everyone.items()}
        assert after == before
        assert admission(api) == figures
        # The kept place does not come back a second time after the restart either.
        clock.advance(seconds=TTL + 1)
        lapsed = read(api, "c-keeper", keeper)
        assert (lapsed["state"], lapsed["keeps_place_until"]) == ("expired", None)


def test_the_report_counts_lapses_returns_and_the_orders_that_followed(
    api: Api, clock: SettableClock
) -> None:
    opens_at = clock.now
    open_room(api, opens_at)
    customers = [f"c-r{n}" for n in range(6)]
    tickets = {c: join(api, c)["ticket"] for c in customers}
    clock.advance(seconds=1)
    readings = {c: read(api, c, t) for c, t in tickets.items()}
    # Two order at once; four let the admission lapse.
    for customer in customers[:2]:
        assert place(api, customer, readings[customer]["admission_token"]).status_code == 201
    clock.advance(seconds=TTL + 1)
    # Two come back within the grace (one orders), one after it (and orders), one never.
    kept = [join(api, c, status=200) for c in customers[2:4]]
    assert place(api, customers[2], kept[0]["admission_token"]).status_code == 201
    clock.advance(seconds=GRACE + 1)
    back = join(api, customers[4], status=200)
    clock.advance(seconds=back["eta_seconds"] + 0.001)
    turn = read(api, customers[4], tickets[customers[4]])
    assert place(api, customers[4], turn["admission_token"]).status_code == 201
    clock.advance(seconds=TTL + 1)
    report = api.get(f"/api/v1/launches/{SLUG}/report", headers=ADMIN).json()
    chance = report["waiting_room"]["second_chance"]
    # Lapsed: c-r2..c-r5's first admissions, and c-r3's kept place that went unused.
    assert chance == {
        "lapsed": 5,
        "rejoined": 3,
        "kept_place": 2,
        "back_of_queue": 1,
        "came_back_and_ordered": 2,
    }


def test_concurrent_returns_of_one_lapsed_ticket_make_one_rejoin(database: Database) -> None:
    """Over loopback HTTP on the wall clock: a launch at x100 whose tokens live 0.5 launch
    seconds lapses at once; 20 simultaneous joins of the lapsed customer rejoin once."""
    with http_api(database.settings()) as api:
        opens_at = datetime.now(UTC) - timedelta(seconds=1)
        room = {"rate_per_second": 1000, "token_ttl_seconds": 1, "rejoin_grace_seconds": 0}
        body = launch_body(slug=SLUG, opens_at=opens_at, admission=room, time_scale=1000)
        assert api.post("/api/v1/launches", json=body, headers=ADMIN).status_code == 201
        ticket = join(api, "c-racer")["ticket"]
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while read(api, "c-racer", ticket)["state"] != "expired":
            assert datetime.now(UTC) < deadline
        answers: list[dict[str, Any]] = []
        start = threading.Barrier(20)

        def come_back() -> None:
            start.wait()
            response = api.post(f"/api/v1/launches/{SLUG}/queue", headers=as_("c-racer"))
            assert response.status_code == 200, response.text
            answers.append(response.json())

        threads = [threading.Thread(target=come_back) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(answers) == 20
        assert {a["ticket"] for a in answers} == {ticket}
        # A token of one launch second at x1000 can lapse again between the answers: each
        # answer saw the first rejoin or a later one, and the store holds as many as the
        # ticket counts, numbered without a gap.
        stored = database.query("SELECT number FROM queue_rejoins ORDER BY number")
        assert [n for (n,) in stored] == list(range(1, len(stored) + 1))
        assert max(a["rejoins"] for a in answers) == len(stored)
        assert len(stored) < 20


@pytest.mark.slow
def test_three_processes_share_one_rejoin(pg_database: Database, tmp_path: Path) -> None:
    """A lapsed ticket comes back through every server at once: one rejoin, and each
    server then shows it in the same place."""
    with servers(pg_database, 3, tmp_path) as bases:
        clients = [httpx.Client(base_url=base, timeout=30) for base in bases]
        try:
            apis = [Api(client.request) for client in clients]
            opens_at = datetime.now(UTC) - timedelta(seconds=1)
            room = {"rate_per_second": 1000, "token_ttl_seconds": 2, "rejoin_grace_seconds": 0}
            body = launch_body(slug=SLUG, opens_at=opens_at, admission=room, time_scale=10)
            assert apis[0].post("/api/v1/launches", json=body, headers=ADMIN).status_code == 201
            ticket = join(apis[1], "c-everywhere")["ticket"]
            deadline = datetime.now(UTC) + timedelta(seconds=10)
            while read(apis[2], "c-everywhere", ticket)["state"] != "expired":
                assert datetime.now(UTC) < deadline
            # Pause admission so the rejoined place stays put while every server reads it.
            paused = apis[0].post(
                f"/api/v1/launches/{SLUG}/admission", json={"paused": True}, headers=ADMIN
            )
            assert paused.status_code == 200
            answers: list[dict[str, Any]] = []
            start = threading.Barrier(6)

            def come_back(api: Api) -> None:
                start.wait()
                response = api.post(f"/api/v1/launches/{SLUG}/queue", headers=as_("c-everywhere"))
                assert response.status_code == 200, response.text
                answers.append(response.json())

            threads = [threading.Thread(target=come_back, args=(apis[n % 3],)) for n in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert len(answers) == 6
            assert {a["rejoins"] for a in answers} == {1}
            assert pg_database.scalar("SELECT count(*) FROM queue_rejoins") == 1
            shown = [read(api, "c-everywhere", ticket) for api in apis]
            assert {(s["state"], s["position"], s["rejoins"]) for s in shown} == {("waiting", 1, 1)}
            assert {admission(api)["rejoined"]["back_of_queue"] for api in apis} == {1}
        finally:
            for client in clients:
                client.close()


def test_a_queue_stored_before_rejoins_existed_keeps_its_order_after_the_upgrade(
    tmp_path: Path,
) -> None:
    """A SQLite file of the schema before migration 0004: its tickets take their commit
    order as positions, and joins after the upgrade come after them."""
    import sqlite3

    from launchday.store.migrations import migrate_sqlite
    from launchday.store.schema import STEPS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate_sqlite(conn, STEPS[:3]) == [
        "0001_core",
        "0002_report_indexes",
        "0003_waiting_room",
    ]
    clock = SettableClock(T0.replace(hour=16))
    opens_at = clock.now + timedelta(minutes=1)
    with in_process(settings_for_file(path), clock) as (api, _app):
        open_room(api, opens_at)  # on the new schema: the launch and its room
    # Put the room back as the old schema kept it: tickets by commit order (seq) only.
    conn.execute("DELETE FROM schema_migrations WHERE name = '0004_rejoins'")
    conn.execute("DROP TABLE queue_rejoins")
    conn.execute("DROP INDEX queue_tickets_by_position")
    conn.execute("ALTER TABLE queue_tickets DROP COLUMN position")
    conn.execute("ALTER TABLE waiting_rooms DROP COLUMN joined")
    (launch_id,) = conn.execute("SELECT id FROM launches").fetchone()
    # Thirty joined after the opening, first come first served, in reverse order of
    # name: their places must follow the order they were stored in.
    for n in reversed(range(30)):
        conn.execute(
            "INSERT INTO queue_tickets (launch_id, customer, ticket, joined_at_us)"
            " VALUES (?, ?, ?, ?)",
            (launch_id, f"c-old-{n:02d}", f"t-old-{n:02d}", to_micros(opens_at) + 30 - n),
        )
    conn.close()
    with in_process(settings_for_file(path), clock) as (api, _app):
        clock.now = opens_at + timedelta(milliseconds=1)  # nobody admitted yet
        before = {n: read(api, f"c-old-{n:02d}", f"t-old-{n:02d}")["position"] for n in range(30)}
        assert before == {n: 30 - n for n in range(30)}
        late = join(api, "c-after-upgrade")
        assert late["position"] == 31
    with in_process(settings_for_file(path), clock) as (api, _app):
        again = {n: read(api, f"c-old-{n:02d}", f"t-old-{n:02d}")["position"] for n in range(30)}
        assert again == before
