"""The waiting room's writes and reads: its joins, rejoins and rate changes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from launchday.domain.admission import RateChange
from launchday.domain.waiting_room import QueuedTicket, QueueRejoin, RoomLog, StoredWaitingRoom
from launchday.services.ports.locks import Lock

WAITING_ROOM = Lock("waiting_room")
"""A launch's waiting room: its joins, their order and its rate changes."""


def ticket_holder(customer: str) -> Lock:
    """A customer's ticket in a launch's waiting room."""
    return Lock("ticket", customer)


class WaitingRoomWrites(Protocol):
    def create_waiting_room(self, launch: str, seed: bytes) -> None:
        """Store the secret seed of a launch's waiting room."""

    def join_queue(
        self, launch: str, customer: str, ticket: str, at: datetime
    ) -> tuple[QueuedTicket, bool]:
        """The customer's ticket, created now if they have none (True if new)."""

    def rejoin_queue(self, launch: str, rejoin: QueueRejoin) -> QueueRejoin | None:
        """Record a lapsed ticket's return, with its position in the room's join order;
        None if the ticket already has a rejoin of that number (someone was first)."""

    def change_admission(self, launch: str, change: RateChange) -> None:
        """Record a change of the admission rate or a pause."""


class WaitingRoomReads(Protocol):
    def waiting_room(self, launch: str) -> StoredWaitingRoom | None:
        """The stored waiting room of a launch, or None if it has none."""

    def waiting_room_since(
        self, launch: str, after_position: int, after_change: int, *, settled: bool = False
    ) -> RoomLog:
        """Joins and rejoins past `after_position` and rate changes past `after_change`.

        With `settled`, first wait for any join or change still being committed, so that
        nothing stamped before this call can appear later.
        """
