"""Waiting-room use cases: join, read a ticket, admit, change the rate; check admission.

Joins and rate changes are written through the store's group commit and then applied
to the launch's in-memory `WaitingRoom`; reading a ticket touches only memory.

When several server processes share the database, each keeps its own copy of every
room and reads what the others committed at most `REFRESH_SECONDS` after its last
read, in position order (positions are given out under the room's lock, so they commit
in order and a read past the last one seen misses nothing). Every process thus ranks
the same tickets in the same order: one queue, one order of admission. The first read
after the opening waits for joins still being committed, so the pre-queue is complete
before anyone is shown a place in it. A ticket this process has not seen yet (joined
through another) is looked up at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from launchday.domain.admission import (
    QueueSnapshot,
    RateChange,
    TicketState,
    TicketView,
)
from launchday.domain.errors import NotFound
from launchday.domain.launch import Launch
from launchday.domain.rejoin import Rejoin, rejoin_kind
from launchday.domain.waiting_room import (
    Comeback,
    QueuedTicket,
    QueueRejoin,
    RoomLog,
    Ticket,
    WaitingRoom,
    rebuild_room,
)
from launchday.services.admission_tokens import AdmissionTokens
from launchday.services.ids import new_id
from launchday.services.ports.store import Store, WriteScope
from launchday.services.ports.waiting_room import WAITING_ROOM, WaitingRoomWrites, ticket_holder


class TicketReading(NamedTuple):
    """A ticket as its holder reads it, with the admission token once admitted.

    A named tuple, not a frozen dataclass: every poll of a waiting browser makes one,
    and a tuple is built in a fraction of the time.
    """

    ticket: Ticket
    view: TicketView
    admission_token: str | None
    pre_queue: bool
    at: datetime  # the launch time it was read at
    comeback: Comeback | None = None  # its rejoins, if it lapsed and came back


# Admission tokens kept for reuse by later polls (the most recently minted).
MINTED_KEPT = 20_000
# How stale a shared room may be before a read looks for other processes' joins.
REFRESH_SECONDS = 0.2


def new_ticket_id() -> str:
    """An unguessable ticket id (96 random bits behind a time prefix: launchday.services.ids)."""
    return new_id()


class WaitingRooms:
    """The waiting rooms of all launches served by this process."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        tokens: AdmissionTokens,
        launch_of: Callable[[str], Launch],
    ) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens
        self._launch_of = launch_of
        self._rooms: dict[str, WaitingRoom] = {}
        # Joins sent before a room's opening and not yet applied, per launch: until they
        # are, nobody is shown a place, or a late pre-queue join would reshuffle them.
        self._unsettled: dict[str, int] = {}
        self._settled: dict[str, asyncio.Event] = {}
        # Tokens of recently admitted tickets, reused by their later polls. Minting is
        # deterministic (the same claims sign to the same token), so the memory is only
        # a saving of HMACs and is bounded: a room of a million must not keep a million.
        self._minted: dict[str, tuple[datetime, str]] = {}  # ticket -> (expires_at, token)

    def room(self, slug: str) -> WaitingRoom:
        """The launch's waiting room (NotFound if the launch has none), up to date with
        other processes' joins as described above."""
        found = self._rooms.get(slug)
        if found is None:
            found = self._load(slug)
        if self._store.shared:
            return self._refresh(slug, found, stale_after=REFRESH_SECONDS)
        return found

    def _load(self, slug: str, *, settled: bool = False) -> WaitingRoom:
        launch = self._launch_of(slug)
        stored = self._store.reads.waiting_room(slug)
        if launch.admission is None or stored is None:
            raise NotFound(f"launch {slug!r} has no waiting room", field="slug")
        room = rebuild_room(launch, stored)
        room.read_at = time.monotonic()
        room.pre_queue_settled = settled
        self._rooms[slug] = room
        return room

    def _must_settle(self, slug: str, room: WaitingRoom) -> bool:
        opened = self._launch_of(slug).clock(self._clock()) >= room.opens_at
        return opened and not room.pre_queue_settled

    def _refresh(self, slug: str, room: WaitingRoom, *, stale_after: float) -> WaitingRoom:
        """Apply what other processes committed since the room's last read (waiting, on
        the first read after the opening, for joins still being committed: `settled`
        does that wait off the event loop first, so this is rarely the one waiting)."""
        settle = self._must_settle(slug, room)
        if not settle and time.monotonic() - room.read_at < stale_after:
            return room
        read_at = time.monotonic()
        log = self._store.reads.waiting_room_since(
            slug, room.last_position, room.last_change, settled=settle
        )
        return self._apply(slug, room, log, settled=settle, read_at=read_at)

    def _apply(
        self, slug: str, room: WaitingRoom, log: RoomLog, *, settled: bool, read_at: float
    ) -> WaitingRoom:
        if self._rooms.get(slug) is not room:
            room = self._rooms[slug]  # replaced while this read was under way
        if log.changes or (settled and any(t.joined_at < room.opens_at for t in log.tickets)):
            # A rate change, or a pre-queue join applied after the ledger opened: replay
            # the room from the start, as a restart would.
            return self._load(slug, settled=settled or room.pre_queue_settled)
        for entry in log.joins():
            if isinstance(entry, QueueRejoin):
                room.rejoin(entry)
            else:
                room.add(Ticket(entry.ticket, entry.customer, entry.joined_at), entry.position)
        room.read_at = read_at
        room.pre_queue_settled = room.pre_queue_settled or settled
        return room

    async def join(self, slug: str, customer: str) -> tuple[Ticket, bool]:
        """The customer's ticket, True if new; the same customer always gets the same
        one. A ticket whose admission lapsed rejoins (launchday.domain.rejoin)."""
        room = self.room(slug)
        ticket = room.ticket_of(customer)
        created = False
        if ticket is None:
            ticket, created = await self._join(slug, room, customer)
        if not created:
            await self._rejoin_if_lapsed(slug, ticket)
        return ticket, created

    async def _rejoin_if_lapsed(self, slug: str, ticket: Ticket) -> None:
        launch = self._launch_of(slug)
        room = self.room(slug)
        if self._store.shared:  # another process may have seen it rejoin already
            room = self._refresh(slug, room, stale_after=0)
        at = launch.clock(self._clock())
        view = room.view(ticket.ticket, at)
        if rejoin_kind(view, at) is None:
            return
        comeback = room.comeback(ticket.ticket)
        number = 1 if comeback is None else comeback.count + 1

        def rejoin(tx: WaitingRoomWrites, now: datetime) -> QueueRejoin | None:
            # Stamped at the writer's own time, a moment later: a lapsed ticket stays
            # lapsed, but the grace may have run out meanwhile. The room itself is not
            # read here: it belongs to the event loop, not the writer's thread.
            at = launch.clock(now)
            kind = rejoin_kind(view, at)
            made = QueueRejoin(
                ticket.ticket, ticket.customer, number, at, kind is Rejoin.KEPT_PLACE
            )
            return tx.rejoin_queue(slug, made)

        stored = await self._store.write(
            rejoin, WriteScope(slug, (ticket_holder(ticket.customer), WAITING_ROOM))
        )
        room = self._rooms.get(slug, room)
        if stored is not None and (
            not self._store.shared or stored.position == room.last_position + 1
        ):
            room.rejoin(stored)
        elif self._store.shared:  # others joined in between, or rejoined it first
            self._refresh(slug, room, stale_after=0)

    async def _join(self, slug: str, room: WaitingRoom, customer: str) -> tuple[Ticket, bool]:
        launch = self._launch_of(slug)
        ticket_id = new_ticket_id()

        def join(tx: WaitingRoomWrites, now: datetime) -> tuple[QueuedTicket, bool]:
            return tx.join_queue(slug, customer, ticket_id, launch.clock(now))

        # The writer stamps a join at or after it is sent, so only a join sent before
        # the opening can land in the pre-queue: count those until they are applied.
        early = launch.clock(self._clock()) < room.opens_at
        if early:
            self._unsettled[slug] = self._unsettled.get(slug, 0) + 1
            self._settled.setdefault(slug, asyncio.Event()).clear()
        try:
            stored, created = await self._store.write(
                join, WriteScope(slug, (ticket_holder(customer), WAITING_ROOM))
            )
            ticket = Ticket(stored.ticket, stored.customer, stored.joined_at)
            room = self._rooms.get(slug, room)
            if not self._store.shared or stored.position == room.last_position + 1:
                room.add(ticket, stored.position)
            else:  # others joined in between: take theirs first, in order
                self._refresh(slug, room, stale_after=0)
        finally:
            if early:
                self._unsettled[slug] -= 1
                if self._unsettled[slug] == 0:
                    self._settled[slug].set()
        return ticket, created

    async def settled(self, slug: str) -> None:
        """Wait, after the opening, until every join sent before it is in the room.

        At most one group commit; a ticket read before then could show a place that a
        pre-queue join still in flight would change.
        """
        if self._store.shared:
            room = self._rooms.get(slug) or self._load(slug)
            if self._must_settle(slug, room):
                read_at = time.monotonic()
                log = await asyncio.to_thread(
                    self._store.reads.waiting_room_since,
                    slug,
                    room.last_position,
                    room.last_change,
                    settled=True,
                )
                self._apply(slug, room, log, settled=True, read_at=read_at)
            return
        if not self._unsettled.get(slug):
            return
        launch = self._launch_of(slug)
        room = self.room(slug)
        if launch.clock(self._clock()) >= room.opens_at:
            await self._settled[slug].wait()

    def read(self, slug: str, ticket_id: str, customer: str) -> TicketReading:
        """The ticket, if it is the customer's (NotFound otherwise, never a hint)."""
        room = self.room(slug)
        ticket = room.ticket(ticket_id)
        if ticket is None and self._store.shared:
            # Perhaps joined through another process a moment ago: read what is new (one
            # indexed range read, as any unknown order id costs one lookup).
            room = self._refresh(slug, room, stale_after=0)
            ticket = room.ticket(ticket_id)
        if ticket is None or ticket.customer != customer:
            raise NotFound(f"no ticket {ticket_id!r}", field="ticket")
        at = self._launch_of(slug).clock(self._clock())
        view, comeback = room.reading(ticket_id, at)
        token = None
        if view.state is TicketState.ADMITTED and view.expires_at is not None:
            minted = self._minted.get(ticket_id)
            # A ticket admitted again after a rejoin has a new expiry, so a new token.
            if minted is not None and minted[0] == view.expires_at:
                token = minted[1]
            else:
                if minted is None and len(self._minted) >= MINTED_KEPT:
                    del self._minted[next(iter(self._minted))]  # the oldest
                token = self._tokens.mint(customer, slug, ticket_id, view.expires_at)
                self._minted[ticket_id] = (view.expires_at, token)
        return TicketReading(ticket, view, token, ticket.joined_at < room.opens_at, at, comeback)

    async def change(
        self, slug: str, rate_per_second: float | None, paused: bool | None
    ) -> QueueSnapshot:
        """Change the admission rate and/or pause or resume, from now on."""
        room = self.room(slug)
        launch = self._launch_of(slug)

        def change(tx: WaitingRoomWrites, now: datetime) -> RateChange:
            at = launch.clock(now)
            current = room.ledger.schedule.current(at)
            made = RateChange(
                at,
                current.rate_per_second if rate_per_second is None else rate_per_second,
                current.paused if paused is None else paused,
            )
            tx.change_admission(slug, made)
            return made

        made = await self._store.write(change, WriteScope(slug, (WAITING_ROOM,)))
        if self._store.shared:
            room = self._refresh(slug, self._rooms.get(slug, room), stale_after=0)
        else:
            room.change(made)
        return room.snapshot(made.at)

    def snapshot(self, slug: str) -> QueueSnapshot | None:
        """The room's figures now, or None for a launch without a waiting room."""
        launch = self._launch_of(slug)
        if launch.admission is None:
            return None
        return self.room(slug).snapshot(launch.clock(self._clock()))

    def check(self, launch: Launch, customer: str, token: str | None, now: datetime) -> None:
        """Pass when the launch needs no admission or `token` admits the customer now."""
        if launch.admission is not None:
            self._tokens.check(token, customer, launch.slug, launch.clock(now))
