"""Long reads on a hot standby of the PostgreSQL database, so they never slow the primary.

A report reads hundreds of thousands of orders; on a launch night the primary's cores
belong to the buyers. A streaming standby holds the same rows a moment later, so
reports (and only reports) may read there (docs/replica.md).

A moment later is the catch: an admin who asks for the report right after an order's
201 must find that order counted. So before reading, the primary's current WAL position
(`pg_current_wal_lsn()`, taken after every acknowledged commit so far) is read, and the
standby is polled until it has replayed that far (`pg_last_wal_replay_lsn()`); every
commit acknowledged before the report was asked for is then visible there. The wait is
bounded: past it, or when the standby cannot be reached, or when it fails mid-read (a
query cancelled by a conflict with recovery), the read runs on the primary with a
warning, because the report must still answer. A standby that failed is passed over
for a while rather than waited for again by every report.

What needs the latest commit whatever the standby's lag stays on the primary: the
delivery promises' re-reads and the dashboard's live ticks (`read_in_thread`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from launchday.config import redacted

T = TypeVar("T")
log = logging.getLogger("launchday.store.replica")

# How long a report waits for the standby to replay up to the primary's position. A
# healthy standby on a LAN replays within milliseconds; seconds of lag mean it is
# overwhelmed, and the report is better read on the primary than late.
REPLAY_WAIT_SECONDS = 5.0
# The polls while waiting: soon at first (it is usually there at once), then less often.
FIRST_POLL_SECONDS = 0.002
LAST_POLL_SECONDS = 0.05
# A standby that did not answer, lagged past the wait or failed mid-read is passed over
# for this long: reports go to the primary at once instead of each waiting again.
PASS_OVER_SECONDS = 10.0
# A standby that does not answer in this long is treated as down (libpq's timeout is
# in whole seconds).
CONNECT_TIMEOUT_SECONDS = 2
# What the standby's pg_stat_activity shows for these reads.
APPLICATION_NAME = "launchday-report"


def primary_lsn(conn: Any) -> str:
    """The primary's current WAL write position: every commit acknowledged so far ends
    at or before it. `conn`: a psycopg connection to the primary."""
    row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def in_recovery(conn: psycopg.Connection[Any]) -> bool:
    """Whether the server `conn` reaches is a standby (replaying a primary's WAL)."""
    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    assert row is not None
    return bool(row[0])


def replayed(conn: psycopg.Connection[Any], lsn: str) -> bool:
    """Whether the server has replayed up to `lsn`. A server not in recovery (a primary
    reached through `prefer-standby`, say) holds every commit it has, so yes."""
    row = conn.execute(
        "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)
    ).fetchone()
    assert row is not None
    return bool(row[0])


def connect_standby(url: str) -> psycopg.Connection[Any]:
    """A new read-only connection to the standby; psycopg.OperationalError if it is not
    there."""
    return psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        prepare_threshold=None,
        application_name=APPLICATION_NAME,
        options="-c default_transaction_read_only=on",
    )


class Standby:
    """A hot standby that long reads run on when it has caught up with the primary.

    Used from several worker threads at once: its only state is until when it is passed
    over, a float whose assignment needs no lock.
    """

    def __init__(
        self,
        url: str,
        *,
        pass_over_seconds: float = PASS_OVER_SECONDS,
        warn: Callable[[str], None] = log.warning,
    ) -> None:
        self.url = url
        self._pass_over_seconds = pass_over_seconds
        self._warn = warn
        self._passed_over_until = 0.0

    def run(
        self,
        read: Callable[[psycopg.Connection[Any]], T],
        *,
        primary_lsn: Callable[[], str],
        on_primary: Callable[[], T],
    ) -> T:
        """`read` on a new connection to the standby once it has replayed everything
        the primary had committed when this was called (`primary_lsn`); else
        `on_primary()`, the same read on the primary."""
        if time.monotonic() < self._passed_over_until:
            return on_primary()
        lsn = primary_lsn()  # before the standby is asked: nothing acknowledged is missed
        try:
            conn = connect_standby(self.url)
        except psycopg.OperationalError as error:
            self._pass_over(f"cannot be reached ({_first_line(error)})")
            return on_primary()
        try:
            if not self._caught_up(conn, lsn):
                wait = f"{REPLAY_WAIT_SECONDS:g}"
                self._pass_over(f"had not replayed the primary's last commit within {wait} s")
                return on_primary()
            return read(conn)
        except psycopg.OperationalError as error:
            # Gone mid-read, or a query cancelled by a conflict with recovery: a report
            # only reads, so it is read again, whole, on the primary.
            self._pass_over(f"failed mid-read ({_first_line(error)})")
        finally:
            conn.close()
        return on_primary()

    def _caught_up(self, conn: psycopg.Connection[Any], lsn: str) -> bool:
        """Poll until the standby has replayed up to `lsn`; False past the bound."""
        deadline = time.monotonic() + REPLAY_WAIT_SECONDS
        pause = FIRST_POLL_SECONDS
        while not replayed(conn, lsn):
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, LAST_POLL_SECONDS)
        return True

    def _pass_over(self, why: str) -> None:
        self._passed_over_until = time.monotonic() + self._pass_over_seconds
        later = ""
        if self._pass_over_seconds > 0:
            later = f" (and the next {self._pass_over_seconds:g} s of reports)"
        self._warn(f"the standby {redacted(self.url)} {why}: read on the primary{later}")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
