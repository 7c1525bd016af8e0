"""Waiting-room use cases: join, read a ticket, admit, change the rate; check admission.

Joins and rate changes are written through the store's group commit and then applied
to the launch's in-memory `WaitingRoom`; reading a ticket touches only memory.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from launchday.admission_tokens import AdmissionTokens
from launchday.domain.admission import (
    QueueSnapshot,
    RateChange,
    TicketState,
    TicketView,
)
from launchday.domain.errors import NotFound
from launchday.domain.launch import Launch
from launchday.ids import new_id
from launchday.store.ports import QueuedTicket, Store, WriteTx
from launchday.waiting_room import Ticket, WaitingRoom, rebuild_room


@dataclass(frozen=True, slots=True)
class TicketReading:
    """A ticket as its holder reads it, with the admission token once admitted."""

    ticket: Ticket
    view: TicketView
    admission_token: str | None
    pre_queue: bool


def new_ticket_id() -> str:
    """An unguessable ticket id (96 random bits)."""
    return new_id()


def new_seed() -> bytes:
    """The secret that orders a pre-queue (32 random bytes)."""
    return secrets.token_bytes(32)


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
        # One token per ticket: minted once, reused by every later poll.
        self._minted: dict[str, str] = {}

    def room(self, slug: str) -> WaitingRoom:
        """The launch's waiting room (NotFound if the launch has none)."""
        found = self._rooms.get(slug)
        if found is not None:
            return found
        launch = self._launch_of(slug)
        stored = self._store.reader.waiting_room(slug)
        if launch.admission is None or stored is None:
            raise NotFound(f"launch {slug!r} has no waiting room", field="slug")
        room = rebuild_room(launch, stored)
        self._rooms[slug] = room
        return room

    async def join(self, slug: str, customer: str) -> tuple[Ticket, bool]:
        """The customer's ticket; the same customer always gets the same one."""
        room = self.room(slug)
        known = room.ticket_of(customer)
        if known is not None:
            return known, False
        launch = self._launch_of(slug)
        ticket_id = new_ticket_id()

        def join(tx: WriteTx, now: datetime) -> tuple[QueuedTicket, bool]:
            return tx.join_queue(slug, customer, ticket_id, launch.clock(now))

        # The writer stamps a join at or after it is sent, so only a join sent before
        # the opening can land in the pre-queue: count those until they are applied.
        early = launch.clock(self._clock()) < room.opens_at
        if early:
            self._unsettled[slug] = self._unsettled.get(slug, 0) + 1
            self._settled.setdefault(slug, asyncio.Event()).clear()
        try:
            stored, created = await self._store.write(join)
            ticket = Ticket(stored.ticket, stored.customer, stored.joined_at)
            room.add(ticket)
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
        if ticket is None or ticket.customer != customer:
            raise NotFound(f"no ticket {ticket_id!r}", field="ticket")
        at = self._launch_of(slug).clock(self._clock())
        view = room.view(ticket_id, at)
        token = None
        if view.state is TicketState.ADMITTED and view.expires_at is not None:
            token = self._minted.get(ticket_id)
            if token is None:
                token = self._minted[ticket_id] = self._tokens.mint(
                    customer, slug, ticket_id, view.expires_at
                )
        return TicketReading(ticket, view, token, ticket.joined_at < room.opens_at)

    async def change(
        self, slug: str, rate_per_second: float | None, paused: bool | None
    ) -> QueueSnapshot:
        """Change the admission rate and/or pause or resume, from now on."""
        room = self.room(slug)
        launch = self._launch_of(slug)

        def change(tx: WriteTx, now: datetime) -> RateChange:
            at = launch.clock(now)
            current = room.ledger.schedule.current(at)
            made = RateChange(
                at,
                current.rate_per_second if rate_per_second is None else rate_per_second,
                current.paused if paused is None else paused,
            )
            tx.change_admission(slug, made)
            return made

        made = await self._store.write(change)
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
