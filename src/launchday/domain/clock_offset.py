"""How far a host's clock is from the database's, as one round trip can tell.

API hosts stamp what they store with their own clocks (an order's placement, a ticket's
join, an admission's start); the positions and sequences that rank buyers are drawn by
the database under its locks and do not depend on any clock. A host whose clock is off
by d stamps its writes d early or late against the others: docs/cluster.md says what
that moves. Each host therefore measures its offset from the primary's clock and stops
taking buyers when it is past a bound.

The database's time was read somewhere between sending the query and its answer, so
the offset is known to within half the round trip (Cristian's method).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """The host's clock minus the database's, in seconds, give or take `uncertainty`."""

    seconds: float
    uncertainty: float

    @classmethod
    def measured(cls, sent: datetime, database: datetime, received: datetime) -> ClockOffset:
        """From the host's clock when the query was sent and answered, and the
        database's time in the answer."""
        half_trip = (received - sent).total_seconds() / 2
        midpoint = sent + (received - sent) / 2
        return cls((midpoint - database).total_seconds(), half_trip)

    def beyond(self, bound: float) -> bool:
        """Whether the clock is surely further than `bound` seconds off."""
        return abs(self.seconds) - self.uncertainty > bound
