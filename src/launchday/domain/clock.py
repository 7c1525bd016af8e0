"""The launch clock: rehearsals run a launch faster than real time.

Launch time equals real time until `opens_at`; from then on it runs `time_scale`
times faster:  launch = opens_at + (now - opens_at) * time_scale.
Order times, cooling-off windows and reports are all in launch time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Launch times live in [EARLIEST, END_OF_TIME). A fast rehearsal clock left running for
# weeks would pass year 9999; it stops at END_OF_TIME instead, which leaves room above it
# for the longest cooling-off window (8,784 h) and lead time (520 weeks) without overflow.
EARLIEST = EPOCH
END_OF_TIME = datetime(9000, 1, 1, tzinfo=UTC)


def launch_time(now: datetime, opens_at: datetime, time_scale: float) -> datetime:
    """The launch's time at real time `now`."""
    if now <= opens_at or time_scale == 1:
        return now
    elapsed = (now - opens_at).total_seconds() * time_scale
    if elapsed >= (END_OF_TIME - opens_at).total_seconds():
        return END_OF_TIME
    return opens_at + (now - opens_at) * time_scale


def real_time(at: datetime, opens_at: datetime, time_scale: float) -> datetime:
    """The real time at which the launch clock reads `at` (inverse of `launch_time`)."""
    if at <= opens_at or time_scale == 1:
        return at
    return opens_at + (at - opens_at) / time_scale


def to_micros(at: datetime) -> int:
    """Microseconds since the Unix epoch, exact (the storage form of a time)."""
    delta = at - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(us: int) -> datetime:
    """The aware UTC datetime for microseconds since the Unix epoch."""
    return EPOCH + timedelta(microseconds=us)


def utc(at: datetime) -> datetime:
    """`at` in UTC: what the wire encodes as RFC 3339 with a `Z`, as `rfc3339` writes."""
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def rfc3339(at: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, to the microsecond when there is one."""
    if at.tzinfo is not UTC:  # times in launchday are UTC already: skip the conversion
        at = at.astimezone(UTC)
    return at.isoformat().replace("+00:00", "Z")
