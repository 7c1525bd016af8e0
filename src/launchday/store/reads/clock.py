"""The database's clock (PostgreSQL's `clock_timestamp()`, the time as the query runs)."""

from __future__ import annotations

from datetime import datetime

from launchday.store.reads.point import PointReads
from launchday.store.sql import ReadConnection


class ClockReads(PointReads):
    """Implements the clock read port."""

    def database_time(self) -> datetime | None:
        def read(db: ReadConnection) -> datetime | None:
            if not db.is_postgres:
                return None
            row = db.one("SELECT clock_timestamp()")
            assert row is not None
            now = row[0]
            assert isinstance(now, datetime)
            return now

        return self._session.run(read)
