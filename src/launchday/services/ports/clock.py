"""The database's own clock, against which each API host checks its own."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ClockReads(Protocol):
    def database_time(self) -> datetime | None:
        """The database server's clock now; None for an embedded database, which runs
        on the one host and has no clock of its own."""
