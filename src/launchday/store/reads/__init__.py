"""The read model: every read of the services, the dashboard and the reports, in one
place for both databases.

`LoopReads` answers the API's point reads on the event loop: each is one indexed read
on the store's read connection. `SnapshotReads` runs in a thread on a connection of
its own, with every query of one call inside one snapshot (`snapshot()`): the reports'
set-based counts and the dashboard's ticks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from launchday.store.reads.access import AccessReads
from launchday.store.reads.clock import ClockReads
from launchday.store.reads.delivery import DeliveryReads
from launchday.store.reads.live import LiveQueries
from launchday.store.reads.payments import PaymentReads
from launchday.store.reads.report import ReportQueries
from launchday.store.reads.retail import RetailReads
from launchday.store.reads.retail_report import RetailReportQueries
from launchday.store.reads.room import RoomReads
from launchday.store.reads.session import OneConnection, ReadSession
from launchday.store.sql import Connection, ReadConnection, read_connection


class LoopReads(RoomReads, DeliveryReads, PaymentReads, AccessReads, RetailReads, ClockReads):
    """Point reads for the event loop (the services' read ports)."""


class SnapshotReads(
    RoomReads,
    DeliveryReads,
    PaymentReads,
    AccessReads,
    RetailReads,
    ReportQueries,
    RetailReportQueries,
    LiveQueries,
):
    """Every read, on one connection of the caller's, for reports and the dashboard."""

    def __init__(self, db: ReadConnection) -> None:
        RoomReads.__init__(self, OneConnection(db))
        ReportQueries.__init__(self, db)
        RetailReportQueries.__init__(self, db)
        LiveQueries.__init__(self, db)
        self.db = db

    @property
    def is_postgres(self) -> bool:
        return self.db.is_postgres

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Run the reads inside in one read transaction, so that their figures agree."""
        with self.db.snapshot():
            yield


def snapshot_reads(conn: Connection | ReadConnection) -> SnapshotReads:
    """Every read, on a connection the caller opened and closes (a SQLite or psycopg
    connection, or a `ReadConnection` over one): for reports from the command line."""
    return SnapshotReads(read_connection(conn))


__all__ = ["LoopReads", "ReadSession", "SnapshotReads", "snapshot_reads"]
