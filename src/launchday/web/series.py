"""The live curve's arithmetic: per-second order counts, extended tick by tick.

Each tick the publisher reads only the orders placed since the last one, grouped by
second after opening, and hands the rows to `LiveSeries.apply`. Buckets are the
report's (`launchday.analytics.report.Series`): bucket k holds the orders placed in
`(k - 1, k]` seconds after opening, bucket 0 those placed at the opening instant.

Why the last bucket seen is read again: a launch's orders are placed one batch at a
time, each batch stamping its orders with the batch's time and committing before the
next batch reads the clock. On SQLite that is the single writer; on PostgreSQL, with
several server processes, each batch that places orders holds the launch's order-book
lock from before it reads the clock until it has committed (`launchday.store.postgres`),
so the same holds across processes (on one machine's clock, or clocks kept in step).
An order not yet visible at a tick can therefore never be older than the newest order
that was: every bucket before the newest one seen is final; the newest one may still
grow, so it stays "open" and the next tick counts it again (replacing, not adding).
Pure and stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from launchday.analytics.report import (
    MINUTE_SERIES_SECONDS,
    SECOND_SERIES_SECONDS,
    US,
    ProfileTally,
    rebin,
    series_length,
)

# After the first week the curve goes on by the hour: a per-minute series of a month
# would send 43,200 numbers to every viewer every second.
HOUR_STEPS: int = 60
# Closed per-second counts past the first hour are kept this long, for the rate.
_TAIL_SECONDS = 120

EMPTY_MIX = ProfileTally(0, 0, 0, 0, 0, 0, 0, 0)


def add_mix(a: ProfileTally, b: ProfileTally) -> ProfileTally:
    """The tally of two disjoint sets of orders together."""
    return ProfileTally(
        count=a.count + b.count,
        first_car_answered=a.first_car_answered + b.first_car_answered,
        first_car_yes=a.first_car_yes + b.first_car_yes,
        new_to_brand_answered=a.new_to_brand_answered + b.new_to_brand_answered,
        new_to_brand_yes=a.new_to_brand_yes + b.new_to_brand_yes,
        phone_answered=a.phone_answered + b.phone_answered,
        ios=a.ios + b.ios,
        registered=a.registered + b.registered,
    )


def bucket_of(placed_us: int, opens_us: int) -> int:
    """The right-closed second bucket of an order placed at `placed_us` (0 at opening)."""
    return max(0, -(-(placed_us - opens_us) // US))


@dataclass(frozen=True, slots=True)
class SeriesView:
    """The curve as a dashboard draws it: orders per `step_seconds`, right-closed."""

    step_seconds: int
    orders: list[int]


@dataclass(slots=True)
class LiveSeries:
    """Orders per second since opening, built from the new orders of each tick."""

    opens_us: int
    # Closed counts: per second for the first hour, per minute (bucket > 60) after.
    _seconds: list[int] = field(default_factory=list)
    _minutes: dict[int, int] = field(default_factory=dict)
    _tail: dict[int, int] = field(default_factory=dict)  # closed seconds past the hour
    _closed_mix: ProfileTally = EMPTY_MIX
    # Open buckets: the newest second seen, and anything after it, counted again each tick.
    _open: dict[int, ProfileTally] = field(default_factory=dict)
    _first_open: int = 0
    peak: int = 0
    peak_bucket: int | None = None

    def read_after_us(self) -> int:
        """The exclusive lower bound of the next tick's read: the first open bucket's start."""
        if self._first_open == 0:
            return self.opens_us - 1
        return self.opens_us + (self._first_open - 1) * US

    def apply(self, rows: Iterable[tuple[int, ProfileTally]]) -> None:
        """Take a tick's (bucket, tally) rows: every order placed after `read_after_us()`."""
        fresh = {bucket: tally for bucket, tally in rows if bucket >= self._first_open}
        newest = max(fresh, default=self._first_open)
        for bucket, tally in fresh.items():
            self._note_peak(bucket, tally.count)
        self._open = {}
        for bucket in sorted(fresh):
            if bucket < newest:
                self._close(bucket, fresh[bucket])
            else:
                self._open[bucket] = fresh[bucket]
        self._first_open = newest

    def count(self, bucket: int) -> int:
        """Orders in one second bucket (0 when unknown, e.g. long closed past the hour)."""
        tally = self._open.get(bucket)
        if tally is not None:
            return tally.count
        if bucket <= SECOND_SERIES_SECONDS:
            return self._seconds[bucket] if bucket < len(self._seconds) else 0
        return self._tail.get(bucket, 0)

    def mix(self) -> ProfileTally:
        """Who placed every order seen so far."""
        total = self._closed_mix
        for tally in self._open.values():
            total = add_mix(total, tally)
        return total

    def total(self) -> int:
        return self.mix().count

    def view(self, elapsed_us: int) -> SeriesView:
        """The curve up to `elapsed_us` after opening: per second for the first hour, then
        per minute for the first week, then per hour."""
        if elapsed_us <= SECOND_SERIES_SECONDS * US:
            length = series_length(elapsed_us, 1, SECOND_SERIES_SECONDS)
            return SeriesView(1, [self.count(k) for k in range(length)])
        seconds = [self.count(k) for k in range(SECOND_SERIES_SECONDS + 1)]
        minutes = rebin(seconds, 60)
        later = dict(self._minutes)
        for bucket, tally in self._open.items():
            if bucket > SECOND_SERIES_SECONDS:
                minute = -(-bucket // 60)
                later[minute] = later.get(minute, 0) + tally.count
        span = max(MINUTE_SERIES_SECONDS, elapsed_us // US + 3600)
        if elapsed_us <= MINUTE_SERIES_SECONDS * US:
            length = series_length(elapsed_us, 60, span)
            return SeriesView(60, minutes + [later.get(j, 0) for j in range(len(minutes), length)])
        # Hour h holds minutes (60(h-1), 60h]: built from the minutes that have orders only.
        hours = rebin(minutes, HOUR_STEPS)
        hours += [0] * (series_length(elapsed_us, 3600, span) - len(hours))
        for minute, count in later.items():
            hours[-(-minute // HOUR_STEPS)] += count
        return SeriesView(3600, hours)

    def _close(self, bucket: int, tally: ProfileTally) -> None:
        self._closed_mix = add_mix(self._closed_mix, tally)
        if bucket <= SECOND_SERIES_SECONDS:
            if bucket >= len(self._seconds):
                self._seconds.extend([0] * (bucket + 1 - len(self._seconds)))
            self._seconds[bucket] = tally.count
            return
        minute = -(-bucket // 60)
        self._minutes[minute] = self._minutes.get(minute, 0) + tally.count
        self._tail[bucket] = tally.count
        for old in [k for k in self._tail if k < bucket - _TAIL_SECONDS]:
            del self._tail[old]

    def _note_peak(self, bucket: int, count: int) -> None:
        if count > self.peak:
            self.peak, self.peak_bucket = count, bucket


def rate_now(series: LiveSeries, elapsed_us: int) -> int:
    """Orders in the last complete second before `elapsed_us` (0 before opening)."""
    if elapsed_us < 0:
        return 0
    current = -(-elapsed_us // US)  # the bucket `elapsed_us` falls in
    return series.count(current - 1) if current >= 1 else series.count(0)


def tallies(rows: Sequence[Sequence[int]]) -> list[tuple[int, ProfileTally]]:
    """(bucket, tally) pairs from rows of `bucket, count, <the ProfileTally counts>`."""
    return [(int(row[0]), ProfileTally(int(row[1]), *(int(v) for v in row[2:9]))) for row in rows]
