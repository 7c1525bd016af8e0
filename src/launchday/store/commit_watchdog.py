"""A bound on how long the writer waits for a COMMIT: past it, the COMMIT is cancelled.

PostgreSQL lets no statement_timeout end a COMMIT's wait for its synchronous standby,
but a cancel request does (the transaction then stays committed on the primary alone,
with a warning, which `launchday.store.postgres` answers as unavailable). One thread per
store keeps the deadline, so that arming it costs a batch a lock and a notify, not a new
thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

# A cancel request is a new connection to the server. One that cannot be reached (its
# network cut) would hold this thread for psycopg's default 30 s, and every COMMIT armed
# meanwhile would wait unbounded; the writer's own connection is then found dead by
# TCP (`launchday.store.postgres.TCP_DEAD_PEER`).
CANCEL_TIMEOUT_SECONDS = 3.0


class Cancellable(Protocol):
    def cancel_safe(self, *, timeout: float = ...) -> None: ...


class CommitWatchdog:
    """Cancels the armed connection's operation once its deadline passes."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._armed: tuple[float, Cancellable] | None = None
        self._thread: threading.Thread | None = None

    def arm(self, conn: Cancellable, seconds: float) -> None:
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="launchday-commit-watchdog", daemon=True
                )
                self._thread.start()
            self._armed = (time.monotonic() + seconds, conn)
            self._condition.notify()

    def disarm(self) -> None:
        with self._condition:
            self._armed = None

    def _watch(self) -> None:
        while True:
            with self._condition:
                while self._armed is None or self._armed[0] > time.monotonic():
                    left = None if self._armed is None else self._armed[0] - time.monotonic()
                    self._condition.wait(left)
                conn, self._armed = self._armed[1], None
            try:
                conn.cancel_safe(timeout=CANCEL_TIMEOUT_SECONDS)
            except Exception as error:  # the writer finds the connection gone on its own
                log.warning("could not cancel a commit's wait: %s", error)
