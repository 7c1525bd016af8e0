"""A waiting room's stored log, read alike from SQLite and PostgreSQL.

The log is what a room is rebuilt from: its secret seed, its tickets and rejoins in
the order their positions were given out (one counter per room, advanced by the
writer that holds the room), and its rate changes by number.
"""

from __future__ import annotations

from launchday.domain.admission import RateChange
from launchday.domain.clock import from_micros
from launchday.domain.waiting_room import QueuedTicket, QueueRejoin, RoomLog, StoredWaitingRoom
from launchday.store.reads.point import PointReads
from launchday.store.sql import ReadConnection


def read_room_log(
    db: ReadConnection, launch_id: int, after_position: int = 0, after_change: int = 0
) -> RoomLog:
    """The room's joins and rejoins past `after_position`, changes past `after_change`."""
    marks = {"launch": launch_id, "after": after_position, "after_change": after_change}
    tickets = [
        QueuedTicket(ticket, customer, from_micros(at_us), int(position))
        for ticket, customer, at_us, position in db.all(
            "SELECT ticket, customer, joined_at_us, position FROM queue_tickets"
            " WHERE launch_id = :launch AND position > :after ORDER BY position",
            marks,
        )
    ]
    rejoins = [
        QueueRejoin(ticket, customer, int(number), from_micros(at_us), bool(kept), int(position))
        for ticket, customer, number, at_us, kept, position in db.all(
            "SELECT ticket, customer, number, at_us, kept_place, position FROM queue_rejoins"
            " WHERE launch_id = :launch AND position > :after ORDER BY position",
            marks,
        )
    ]
    changes = [
        (int(seq), RateChange(from_micros(at_us), float(rate), bool(paused)))
        for seq, at_us, rate, paused in db.all(
            "SELECT seq, at_us, rate_per_second, paused FROM admission_changes"
            " WHERE launch_id = :launch AND seq > :after_change ORDER BY seq",
            marks,
        )
    ]
    return RoomLog(tickets, rejoins, changes)


def read_waiting_room(db: ReadConnection, launch_id: int) -> StoredWaitingRoom | None:
    """A launch's stored waiting room (seed and whole log), or None if it has none."""
    row = db.one("SELECT seed FROM waiting_rooms WHERE launch_id = :launch", {"launch": launch_id})
    if row is None:
        return None
    return StoredWaitingRoom(bytes(row[0]), read_room_log(db, launch_id))


class RoomReads(PointReads):
    """The waiting rooms' reads (implements the waiting room's read port)."""

    def waiting_room(self, launch: str) -> StoredWaitingRoom | None:
        def read(db: ReadConnection) -> StoredWaitingRoom | None:
            launch_id = self._launch_id(db, launch)
            return None if launch_id is None else read_waiting_room(db, launch_id)

        return self._session.run(read)

    def waiting_room_since(
        self, launch: str, after_position: int, after_change: int, *, settled: bool = False
    ) -> RoomLog:
        def read(db: ReadConnection) -> RoomLog:
            launch_id = self._launch_id(db, launch)
            if launch_id is None:
                raise LookupError(f"unknown launch {launch!r}")
            return read_room_log(db, launch_id, after_position, after_change)

        if settled:
            return self._session.run_settled(launch, read)
        return self._session.run(read)
