"""Each API host's check of its clock against the database's (see
`launchday.domain.clock_offset`): measured at start and every CHECK_SECONDS, kept for
the health check and the metrics. A host past the bound answers /healthz 503, so the
load balancer stops sending it buyers until its clock is put right."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from launchday.domain.clock_offset import ClockOffset
from launchday.services.ports.store import Store, StoreUnavailable

log = logging.getLogger(__name__)
CHECK_SECONDS = 10.0


class ClockWatch:
    """The host's clock offset from the database's, as last measured."""

    def __init__(
        self, store: Store, clock: Callable[[], datetime], bound_seconds: float | None
    ) -> None:
        self.store = store
        self.clock = clock
        self.bound_seconds = bound_seconds  # None: not checked
        self.offset: ClockOffset | None = None  # None: not measured (or nothing to measure)

    def measure(self) -> ClockOffset | None:
        """One measurement (one round trip to the database); None without a clock there."""
        sent = self.clock()
        database = self.store.reads.database_time()
        received = self.clock()
        if database is None:
            return None
        self.offset = ClockOffset.measured(sent, database, received)
        return self.offset

    def off(self) -> ClockOffset | None:
        """The offset, when it is surely past the bound; else None."""
        offset, bound = self.offset, self.bound_seconds
        return offset if offset is not None and bound is not None and offset.beyond(bound) else None

    async def run(self) -> None:
        """Measure every CHECK_SECONDS (only where several hosts share the database)."""
        while self.bound_seconds is not None and self.store.shared:
            try:
                offset = self.measure()
            except StoreUnavailable:
                offset = None  # the database is away: the store's own answers tell
            if offset is not None and offset.beyond(self.bound_seconds):
                log.warning(
                    "this host's clock is %.3f s off the database's (bound %.3f s):"
                    " /healthz answers 503",
                    offset.seconds,
                    self.bound_seconds,
                )
            await asyncio.sleep(CHECK_SECONDS)
