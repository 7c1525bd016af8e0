"""One launch's waiting room: its stored log, and the room in memory it rebuilds.

Answering "where am I in the queue?" is the most frequent request of a launch night,
so it is served from here with no database access: tickets are loaded once from the
store and added as joins commit; pre-queue ranks follow from the seed and admission
from the ledger (see `launchday.domain.admission`). All of it is rebuilt from the
store on a restart, in the same order, so nobody is reshuffled.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

from launchday.domain.admission import (
    AdmissionLedger,
    AdmissionSchedule,
    QueueSnapshot,
    RateChange,
    TicketView,
    shuffle_key,
    view_ticket,
)
from launchday.domain.launch import Launch

# --- what a waiting room is stored as (its log) -----------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedTicket:
    ticket: str
    customer: str
    joined_at: datetime
    position: int = 0
    """The ticket's place in the order joins were committed in (1, 2, ...; gaps allowed)."""


@dataclass(frozen=True, slots=True)
class QueueRejoin:
    """A lapsed ticket's return to the waiting room (see launchday.domain.rejoin)."""

    ticket: str
    customer: str
    number: int  # 1 for the ticket's first rejoin, 2 for its second, ...
    at: datetime  # launch time
    kept_place: bool  # admitted again at once; else a new place at the back
    position: int = 0
    """Its place in the room's join order, which tickets and rejoins share."""


@dataclass(frozen=True, slots=True)
class RoomLog:
    """A waiting room's joins, rejoins and rate changes, each in the order committed
    (joins and rejoins by position, changes by number)."""

    tickets: list[QueuedTicket]
    rejoins: list[QueueRejoin]
    changes: list[tuple[int, RateChange]]

    def joins(self) -> list[QueuedTicket | QueueRejoin]:
        """Tickets and rejoins together, in the order of their positions."""
        # Two sorted runs: Timsort merges them in one linear pass.
        entries: list[QueuedTicket | QueueRejoin] = [*self.tickets, *self.rejoins]
        entries.sort(key=lambda entry: entry.position)
        return entries


@dataclass(frozen=True, slots=True)
class StoredWaitingRoom:
    """Everything needed to rebuild a waiting room: its seed and its whole log."""

    seed: bytes
    log: RoomLog


# --- the room in memory ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket: str
    customer: str
    joined_at: datetime  # launch time


@dataclass(slots=True)
class Comeback:
    """A ticket's rejoins so far (launchday.domain.rejoin), and where it now stands."""

    count: int = 0
    kept_place: int = 0  # of which kept their place
    last_at: datetime | None = None
    # When the current place, kept once, was admitted again; None if it was not kept.
    readmitted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AdmissionWindow:
    """One admission: a place whose turn came, or a kept place admitted again."""

    customer: str
    admitted_at: datetime
    expires_at: datetime


class WaitingRoom:
    """Tickets of one launch and the order they are admitted in."""

    def __init__(
        self,
        seed: bytes,
        schedule: AdmissionSchedule,
        token_ttl: timedelta,
        grace: timedelta = timedelta(0),
    ) -> None:
        self.seed = seed
        self.ledger = AdmissionLedger(schedule)
        self.token_ttl = token_ttl
        self.grace = grace  # how long after expiry a rejoin keeps its place
        self._tickets: dict[str, Ticket] = {}
        self._by_customer: dict[str, str] = {}
        self._pre: list[Ticket] = []
        self._post_rank: dict[str, int] = {}
        self._pre_rank: dict[str, int] | None = None
        # Rejoins are rare: only the tickets that came back have an entry here.
        self._comebacks: dict[str, Comeback] = {}
        self._back_rank: dict[str, int] = {}  # ticket -> its place at the back, if sent there
        self._back_joins: dict[int, tuple[str, datetime]] = {}  # such a rank -> ticket, time
        # How far this room has read the store (shared stores only): the last ticket
        # position and rate-change number applied, and whether the pre-queue is known
        # to be complete (read after the opening, once every join before it committed).
        self.last_position = 0
        self.last_change = 0
        self.pre_queue_settled = False
        self.read_at = 0.0  # time.monotonic() of the last read

    @property
    def opens_at(self) -> datetime:
        return self.ledger.schedule.opens_at

    def add(self, ticket: Ticket, position: int = 0) -> None:
        """Take a committed ticket, in commit order (a ticket already known is ignored)."""
        self.last_position = max(self.last_position, position)
        if ticket.ticket in self._tickets:
            return
        self._tickets[ticket.ticket] = ticket
        self._by_customer[ticket.customer] = ticket.ticket
        rank = self.ledger.join(ticket.joined_at)
        if ticket.joined_at < self.opens_at:
            # The pre-queue closes at the opening, so it is complete before any shuffle.
            self._pre.append(ticket)
            self._pre_rank = None
        else:
            self._post_rank[ticket.ticket] = rank

    def ticket(self, ticket_id: str) -> Ticket | None:
        return self._tickets.get(ticket_id)

    def ticket_of(self, customer: str) -> Ticket | None:
        found = self._by_customer.get(customer)
        return None if found is None else self._tickets[found]

    def rejoin(self, rejoin: QueueRejoin) -> None:
        """Take a committed rejoin, in commit order (one already known is ignored)."""
        self.last_position = max(self.last_position, rejoin.position)
        comeback = self._comebacks.setdefault(rejoin.ticket, Comeback())
        if rejoin.number <= comeback.count:
            return
        comeback.count = rejoin.number
        comeback.last_at = rejoin.at
        if rejoin.kept_place:
            comeback.kept_place += 1
            comeback.readmitted_at = rejoin.at
            return
        comeback.readmitted_at = None
        rank = self.ledger.join(rejoin.at)
        self._back_rank[rejoin.ticket] = rank
        self._back_joins[rank] = (rejoin.ticket, rejoin.at)

    def comeback(self, ticket_id: str) -> Comeback | None:
        """The ticket's rejoins, if it has any."""
        return self._comebacks.get(ticket_id)

    def rank(self, ticket_id: str, at: datetime) -> int | None:
        """The ticket's place in the admission order; None before the opening."""
        if at < self.opens_at:
            return None
        if self._back_rank:  # rare: tickets that went to the back of the queue
            back = self._back_rank.get(ticket_id)
            if back is not None:
                return back
        post = self._post_rank.get(ticket_id)
        if post is not None:
            return post
        return self._first_rank(ticket_id)

    def _first_rank(self, ticket_id: str) -> int:
        """The place the ticket got when it first joined (after the opening)."""
        post = self._post_rank.get(ticket_id)
        if post is not None:
            return post
        if self._pre_rank is None:
            ordered = sorted(self._pre, key=lambda t: shuffle_key(self.seed, t.customer))
            self._pre_rank = {t.ticket: index for index, t in enumerate(ordered, start=1)}
        return self._pre_rank[ticket_id]

    def view(self, ticket_id: str, at: datetime) -> TicketView:
        """What the ticket's holder sees at launch time `at`."""
        return self.reading(ticket_id, at)[0]

    def reading(self, ticket_id: str, at: datetime) -> tuple[TicketView, Comeback | None]:
        """The ticket's view at launch time `at`, and its rejoins if it has any: the poll
        of every waiting browser, so one lookup serves both."""
        comeback = self._comebacks.get(ticket_id)
        rank = self.rank(ticket_id, at)
        if comeback is None:
            return view_ticket(rank, self.ledger, at, self.token_ttl, self.grace), None
        readmitted = comeback.readmitted_at
        return view_ticket(rank, self.ledger, at, self.token_ttl, self.grace, readmitted), comeback

    def change(self, change: RateChange) -> None:
        self.ledger.change(change)

    def waits(self, at: datetime) -> list[float]:
        """Launch seconds each ticket admitted by `at` waited: from joining, or from the
        opening for the pre-queue, to admission."""
        if at < self.opens_at:
            return []
        places = self._places(at)
        times = self.ledger.admission_times(len(places))
        return [
            (when - places[rank - 1][1]).total_seconds()
            for rank, when in enumerate(times, start=1)
            if when is not None
        ]

    def _places(self, at: datetime) -> list[tuple[str, datetime]]:
        """Each place admitted by `at`, by rank: its ticket, and when it joined the line
        (the opening, for the pre-queue; the rejoin, for a place at the back)."""
        admitted = self.ledger.admitted_by(at)
        places: list[tuple[str, datetime] | None] = [None] * admitted
        for ticket in self._tickets.values():
            rank = self._first_rank(ticket.ticket)
            if rank <= admitted:
                places[rank - 1] = (ticket.ticket, max(ticket.joined_at, self.opens_at))
        for rank, place in self._back_joins.items():
            if rank <= admitted:
                places[rank - 1] = place
        assert all(place is not None for place in places)  # every rank is someone's
        return places  # type: ignore[return-value]

    def admissions(self, at: datetime) -> list[AdmissionWindow]:
        """Every admission made by launch time `at`: each place whose turn came, and each
        kept place admitted again, with when its token expires."""
        if at < self.opens_at:
            return []
        places = self._places(at)
        times = self.ledger.admission_times(len(places))
        windows = [
            AdmissionWindow(self._tickets[ticket].customer, when, when + self.token_ttl)
            for (ticket, _), when in zip(places, times, strict=True)
            if when is not None
        ]
        for ticket, comeback in self._comebacks.items():
            if comeback.readmitted_at is not None and comeback.readmitted_at <= at:
                customer = self._tickets[ticket].customer
                readmitted = comeback.readmitted_at
                windows.append(AdmissionWindow(customer, readmitted, readmitted + self.token_ttl))
        return windows

    def snapshot(self, at: datetime) -> QueueSnapshot:
        current = self.ledger.schedule.current(at)
        kept = sum(c.kept_place for c in self._comebacks.values())
        back = sum(c.count for c in self._comebacks.values()) - kept
        return QueueSnapshot(
            self.ledger.ranked,
            self.ledger.admitted_by(at),
            current.rate_per_second,
            current.paused,
            rejoined_kept_place=kept,
            rejoined_back=back,
        )


def rebuild_room(launch: Launch, stored: StoredWaitingRoom) -> WaitingRoom:
    """The waiting room as it stands after every stored join and rate change, replayed
    in time order as they happened (the same order on every restart)."""
    assert launch.admission is not None
    admission = launch.admission
    room = WaitingRoom(
        stored.seed,
        AdmissionSchedule.starting(launch.opens_at, admission.rate_per_second),
        timedelta(seconds=admission.token_ttl_seconds),
        timedelta(seconds=admission.rejoin_grace_seconds),
    )
    log = stored.log
    # Joins and rejoins in position order, rate changes by time among them (a join
    # before a change stamped at the same time, as the writer applied them).
    timeline: list[tuple[datetime, int, QueuedTicket | QueueRejoin | RateChange]] = [
        (entry.joined_at if isinstance(entry, QueuedTicket) else entry.at, 0, entry)
        for entry in log.joins()
    ]
    changes = [(change.at, 1, change) for _, change in log.changes]
    for _, _, item in heapq.merge(timeline, changes, key=lambda entry: entry[:2]):
        if isinstance(item, QueuedTicket):
            room.add(Ticket(item.ticket, item.customer, item.joined_at), item.position)
        elif isinstance(item, QueueRejoin):
            room.rejoin(item)
        else:
            room.change(item)
    room.last_change = log.changes[-1][0] if log.changes else 0
    return room
