"""One launch's waiting room in memory: tickets, their ranks and the admission ledger.

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
from launchday.store.ports import QueuedTicket, StoredWaitingRoom


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket: str
    customer: str
    joined_at: datetime  # launch time


class WaitingRoom:
    """Tickets of one launch and the order they are admitted in."""

    def __init__(self, seed: bytes, schedule: AdmissionSchedule, token_ttl: timedelta) -> None:
        self.seed = seed
        self.ledger = AdmissionLedger(schedule)
        self.token_ttl = token_ttl
        self._tickets: dict[str, Ticket] = {}
        self._by_customer: dict[str, str] = {}
        self._pre: list[Ticket] = []
        self._post_rank: dict[str, int] = {}
        self._pre_rank: dict[str, int] | None = None
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

    def rank(self, ticket_id: str, at: datetime) -> int | None:
        """The ticket's place in the admission order; None before the opening."""
        if at < self.opens_at:
            return None
        post = self._post_rank.get(ticket_id)
        if post is not None:
            return post
        if self._pre_rank is None:
            ordered = sorted(self._pre, key=lambda t: shuffle_key(self.seed, t.customer))
            self._pre_rank = {t.ticket: index for index, t in enumerate(ordered, start=1)}
        return self._pre_rank[ticket_id]

    def view(self, ticket_id: str, at: datetime) -> TicketView:
        """What the ticket's holder sees at launch time `at`."""
        return view_ticket(self.rank(ticket_id, at), self.ledger, at, self.token_ttl)

    def change(self, change: RateChange) -> None:
        self.ledger.change(change)

    def waits(self, at: datetime) -> list[float]:
        """Launch seconds each ticket admitted by `at` waited: from joining, or from the
        opening for the pre-queue, to admission."""
        if at < self.opens_at:
            return []
        admitted = self.ledger.admitted_by(at)
        times = self.ledger.admission_times(admitted)
        joined_by_rank: dict[int, datetime] = {}
        for ticket in self._tickets.values():
            rank = self.rank(ticket.ticket, at)
            if rank is not None and rank <= admitted:
                joined_by_rank[rank] = max(ticket.joined_at, self.opens_at)
        return [
            (when - joined_by_rank[rank]).total_seconds()
            for rank, when in enumerate(times, start=1)
            if when is not None and rank in joined_by_rank
        ]

    def snapshot(self, at: datetime) -> QueueSnapshot:
        joined = len(self._tickets)
        current = self.ledger.schedule.current(at)
        return QueueSnapshot(
            joined, self.ledger.admitted_by(at), current.rate_per_second, current.paused
        )


def rebuild_room(launch: Launch, stored: StoredWaitingRoom) -> WaitingRoom:
    """The waiting room as it stands after every stored join and rate change, replayed
    in time order as they happened (the same order on every restart)."""
    assert launch.admission is not None
    room = WaitingRoom(
        stored.seed,
        AdmissionSchedule.starting(launch.opens_at, launch.admission.rate_per_second),
        timedelta(seconds=launch.admission.token_ttl_seconds),
    )
    tickets = ((t.joined_at, 0, t) for t in stored.tickets)
    changes = ((c.at, 1, c) for c in stored.changes)
    for _, _, item in heapq.merge(tickets, changes, key=lambda entry: entry[:2]):
        if isinstance(item, QueuedTicket):
            room.add(Ticket(item.ticket, item.customer, item.joined_at), item.position)
        elif isinstance(item, RateChange):
            room.change(item)
    room.last_change = len(stored.changes)
    return room
