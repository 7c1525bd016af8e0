"""The second chance, pure: what an expired ticket reads, where a rejoin puts it, and the
in-memory room that applies rejoins and rebuilds them after a restart.

A room of 10 admissions a second opens at OPENS; tokens live 60 s; a rejoin keeps its
place for 30 s after the token expired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchday.domain.admission import (
    AdmissionLedger,
    AdmissionSchedule,
    TicketState,
    view_ticket,
)
from launchday.domain.launch import Admission, DepositPolicy, Launch, Variant
from launchday.domain.rejoin import Rejoin, rejoin_kind
from launchday.domain.waiting_room import (
    QueuedTicket,
    QueueRejoin,
    RoomLog,
    StoredWaitingRoom,
    Ticket,
    WaitingRoom,
    rebuild_room,
)

OPENS = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)
GRACE = timedelta(seconds=30)
RATE = 10.0


def secs(seconds: float) -> datetime:
    return OPENS + timedelta(seconds=seconds)


def ledger_with(pre_queue: int) -> AdmissionLedger:
    ledger = AdmissionLedger(AdmissionSchedule.starting(OPENS, RATE))
    for _ in range(pre_queue):
        ledger.join(OPENS - timedelta(minutes=1))
    return ledger


# --- what a ticket reads -----------------------------------------------------------------


def test_an_expired_ticket_says_until_when_a_rejoin_keeps_its_place() -> None:
    ledger = ledger_with(20)
    # Rank 5 is admitted at 0.5 s; its token runs out at 60.5 s.
    admitted = view_ticket(5, ledger, secs(1), TTL, grace=GRACE)
    assert admitted.state is TicketState.ADMITTED
    assert admitted.keeps_place_until is None
    expired = view_ticket(5, ledger, secs(61), TTL, grace=GRACE)
    assert expired.state is TicketState.EXPIRED
    assert expired.expires_at == secs(60.5)
    assert expired.keeps_place_until == secs(90.5)
    assert rejoin_kind(expired, secs(61)) is Rejoin.KEPT_PLACE
    assert rejoin_kind(expired, secs(90.5) - timedelta(microseconds=1)) is Rejoin.KEPT_PLACE
    assert rejoin_kind(expired, secs(90.5)) is Rejoin.BACK_OF_QUEUE


def test_without_a_grace_every_lapsed_ticket_goes_to_the_back() -> None:
    ledger = ledger_with(20)
    expired = view_ticket(5, ledger, secs(61), TTL)
    assert expired.state is TicketState.EXPIRED
    assert expired.keeps_place_until is None
    assert rejoin_kind(expired, secs(61)) is Rejoin.BACK_OF_QUEUE


def test_a_waiting_or_admitted_ticket_does_not_rejoin() -> None:
    ledger = ledger_with(20)
    waiting = view_ticket(15, ledger, secs(1), TTL, grace=GRACE)
    admitted = view_ticket(5, ledger, secs(1), TTL, grace=GRACE)
    before = view_ticket(5, ledger, OPENS - timedelta(seconds=1), TTL, grace=GRACE)
    assert (waiting.state, admitted.state, before.state) == (
        TicketState.WAITING,
        TicketState.ADMITTED,
        TicketState.WAITING,
    )
    for view in (waiting, admitted, before):
        assert rejoin_kind(view, secs(1)) is None


def test_a_kept_place_is_admitted_again_at_once_and_cannot_be_kept_twice() -> None:
    ledger = ledger_with(20)
    again = view_ticket(5, ledger, secs(70), TTL, grace=GRACE, readmitted_at=secs(70))
    assert again.state is TicketState.ADMITTED
    assert (again.admitted_at, again.expires_at) == (secs(70), secs(130))
    lapsed_again = view_ticket(5, ledger, secs(131), TTL, grace=GRACE, readmitted_at=secs(70))
    assert lapsed_again.state is TicketState.EXPIRED
    assert lapsed_again.keeps_place_until is None
    assert rejoin_kind(lapsed_again, secs(131)) is Rejoin.BACK_OF_QUEUE


# --- the room in memory ----------------------------------------------------------------


def new_room() -> WaitingRoom:
    return WaitingRoom(b"s" * 32, AdmissionSchedule.starting(OPENS, RATE), TTL, GRACE)


def fill(room: WaitingRoom, count: int, at: datetime, prefix: str = "c") -> list[str]:
    tickets = []
    for n in range(count):
        ticket = f"{prefix}-{n}"
        room.add(Ticket(ticket, f"cust-{ticket}", at), room.last_position + 1)
        tickets.append(ticket)
    return tickets


def rejoin(room: WaitingRoom, ticket: str, at: datetime, kept: bool) -> QueueRejoin:
    comeback = room.comeback(ticket)
    made = QueueRejoin(
        ticket,
        f"cust-{ticket}",
        1 if comeback is None else comeback.count + 1,
        at,
        kept,
        room.last_position + 1,
    )
    room.rejoin(made)
    return made


def test_a_rejoin_at_the_back_ranks_behind_everyone_who_joined_before_it() -> None:
    room = new_room()
    first = fill(room, 5, secs(0.05))  # admitted by 0.55 s, expired at about 60.5 s
    assert all(room.view(t, secs(61)).state is TicketState.EXPIRED for t in first)
    crowd = fill(room, 1000, secs(95), prefix="late")  # a crowd joins at 95 s
    rejoin(room, first[0], secs(96), kept=False)
    view = room.view(first[0], secs(96))
    assert view.state is TicketState.WAITING
    # Everyone who joined before the rejoin is ahead of it.
    ahead = sum(1 for t in crowd if room.view(t, secs(96)).state is TicketState.WAITING)
    assert view.position == ahead + 1
    snapshot = room.snapshot(secs(96))
    assert (snapshot.rejoined_back, snapshot.rejoined_kept_place) == (1, 0)
    assert snapshot.joined == 5 + 1000 + 1  # places given out
    assert snapshot.waiting == view.position


def test_a_kept_place_rejoin_is_admitted_at_once_with_a_new_expiry() -> None:
    room = new_room()
    tickets = fill(room, 5, secs(0.05))
    rejoin(room, tickets[2], secs(70), kept=True)
    view = room.view(tickets[2], secs(70))
    assert view.state is TicketState.ADMITTED
    assert (view.admitted_at, view.expires_at) == (secs(70), secs(130))
    comeback = room.comeback(tickets[2])
    assert comeback is not None
    assert (comeback.count, comeback.kept_place, comeback.last_at) == (1, 1, secs(70))
    # A repeat of a rejoin already applied (read again from the store) changes nothing.
    room.rejoin(QueueRejoin(tickets[2], f"cust-{tickets[2]}", 1, secs(70), True, 6))
    assert room.comeback(tickets[2]) == comeback
    assert room.snapshot(secs(70)).rejoined_kept_place == 1


def test_admissions_count_every_place_reached_and_every_kept_place() -> None:
    room = new_room()
    tickets = fill(room, 3, secs(0.05))
    rejoin(room, tickets[0], secs(70), kept=True)
    rejoin(room, tickets[1], secs(200), kept=False)  # after its grace: a new place
    windows = room.admissions(secs(300))
    by_customer: dict[str, list[datetime]] = {}
    for window in windows:
        assert window.expires_at - window.admitted_at == TTL
        by_customer.setdefault(window.customer, []).append(window.admitted_at)
    assert len(by_customer["cust-c-0"]) == 2  # its place, then the kept place again
    assert by_customer["cust-c-0"][1] == secs(70)
    assert len(by_customer["cust-c-1"]) == 2  # its place, then its place at the back
    assert max(by_customer["cust-c-1"]) > secs(200)
    assert len(by_customer["cust-c-2"]) == 1
    # Waits: three from the opening, and one from the rejoin at the back.
    waits = room.waits(secs(300))
    assert len(waits) == 4
    assert min(waits) >= 0


def launch() -> Launch:
    return Launch(
        slug="yu7-2025",
        name="Xiaomi YU7",
        currency="CNY",
        opens_at=OPENS,
        deposit=DepositPolicy(5000, 168),
        variants=(Variant("YU7-MAX", "YU7 Max", 329900),),
        admission=Admission(RATE, int(TTL.total_seconds()), int(GRACE.total_seconds())),
    )


@settings(max_examples=60, deadline=None)
@given(
    pre=st.integers(min_value=0, max_value=40),
    later=st.lists(st.integers(min_value=1, max_value=400_000), max_size=40),
    rejoins=st.lists(
        st.tuples(st.integers(min_value=0, max_value=79), st.integers(min_value=60, max_value=500)),
        max_size=15,
    ),
)
def test_a_room_rebuilt_from_its_log_reads_as_the_live_one_did(
    pre: int, later: list[int], rejoins: list[tuple[int, int]]
) -> None:
    """Joins before and after the opening and rejoins of lapsed tickets, applied live in
    the order they were stored; the room rebuilt from that log (as after a restart)
    gives every ticket the same reading."""
    live = new_room()
    log: list[QueuedTicket | QueueRejoin] = []
    events: list[tuple[datetime, int, str]] = [
        (OPENS - timedelta(seconds=30), 0, f"pre-{n}") for n in range(pre)
    ]
    events += [(OPENS + timedelta(milliseconds=ms), 0, f"post-{n}") for n, ms in enumerate(later)]
    events += [(secs(at), 1, f"#{index}") for index, at in rejoins]
    events.sort()
    known: list[str] = []
    for at, kind, name in events:
        position = live.last_position + 1
        if kind == 0:
            entry: QueuedTicket | QueueRejoin = QueuedTicket(name, f"cust-{name}", at, position)
            live.add(Ticket(name, entry.customer, at), position)
            known.append(name)
        else:
            if not known:
                continue
            ticket = known[int(name[1:]) % len(known)]
            chosen = rejoin_kind(live.view(ticket, at), at)
            if chosen is None:
                continue
            comeback = live.comeback(ticket)
            entry = QueueRejoin(
                ticket,
                f"cust-{ticket}",
                1 if comeback is None else comeback.count + 1,
                at,
                chosen is Rejoin.KEPT_PLACE,
                position,
            )
            live.rejoin(entry)
        log.append(entry)
    tickets = [e for e in log if isinstance(e, QueuedTicket)]
    returns = [e for e in log if isinstance(e, QueueRejoin)]
    rebuilt = rebuild_room(launch(), StoredWaitingRoom(b"s" * 32, RoomLog(tickets, returns, [])))
    end = events[-1][0] if events else OPENS
    for moment in (end, end + timedelta(seconds=45), end + timedelta(minutes=10)):
        for name in known:
            assert rebuilt.view(name, moment) == live.view(name, moment)
        assert rebuilt.snapshot(moment) == live.snapshot(moment)


@pytest.mark.parametrize("grace", [timedelta(0), GRACE])
def test_the_rule_in_force_is_the_launchs_grace(grace: timedelta) -> None:
    room = WaitingRoom(b"s" * 32, AdmissionSchedule.starting(OPENS, RATE), TTL, grace)
    (ticket,) = fill(room, 1, secs(0.05))
    view = room.view(ticket, secs(70))
    expected = Rejoin.KEPT_PLACE if grace else Rejoin.BACK_OF_QUEUE
    assert rejoin_kind(view, secs(70)) is expected
