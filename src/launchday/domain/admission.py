"""The waiting room's arithmetic: fair order, who is admitted by when, and what a ticket reads.

Pure and clock-free: every function takes launch time as an argument.

- Order. Customers who join before the opening form the pre-queue; at the opening
  they are ranked by HMAC-SHA256(seed, customer id), a uniformly random order that
  nobody can predict or influence without the launch's secret seed. Customers who
  join later rank behind them, first come, first served.
- Admission. From the opening, admission runs at a rate (per launch second) that an
  admin may change or pause; the rate history is a list of changes, and the number
  admitted by time t is the integral of the rate from the opening, rounded down.
  A ticket of rank r is admitted once that number reaches r. Admission never waits
  for anyone, so people who never come back cannot stall the queue.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple


class TicketState(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class RateChange:
    """From launch time `at` on, admit `rate_per_second` (0 while paused)."""

    at: datetime
    rate_per_second: float
    paused: bool = False

    @property
    def effective_rate(self) -> float:
        return 0.0 if self.paused else self.rate_per_second


@dataclass(frozen=True, slots=True)
class AdmissionSchedule:
    """The rate history of one waiting room, from its opening."""

    opens_at: datetime
    changes: tuple[RateChange, ...]  # sorted by time; the first is at `opens_at`

    @classmethod
    def starting(cls, opens_at: datetime, rate_per_second: float) -> AdmissionSchedule:
        return cls(opens_at, (RateChange(opens_at, rate_per_second),))

    def changed(self, change: RateChange) -> AdmissionSchedule:
        """The schedule with `change` in force from its time on (a change before the
        opening takes effect at the opening)."""
        at = max(change.at, self.opens_at)
        kept = tuple(c for c in self.changes if c.at < at)
        return AdmissionSchedule(
            self.opens_at, (*kept, RateChange(at, change.rate_per_second, change.paused))
        )

    def current(self, at: datetime) -> RateChange:
        """The change in force at launch time `at`."""
        found = self.changes[0]
        for change in self.changes:
            if change.at <= at:
                found = change
        return found

    def capacity(self, at: datetime) -> float:
        """Admissions the rate allows from the opening to launch time `at`."""
        total = 0.0
        for index, change in enumerate(self.changes):
            if change.at >= at:
                break
            end = self.changes[index + 1].at if index + 1 < len(self.changes) else at
            total += change.effective_rate * (min(end, at) - change.at).total_seconds()
        return total

    def time_of_capacity(self, capacity: float) -> datetime | None:
        """The first launch time by which `capacity` admissions are allowed; None if the
        rates known now never get there (the room is paused)."""
        accumulated = 0.0
        for index, change in enumerate(self.changes):
            rate = change.effective_rate
            last = index + 1 == len(self.changes)
            gained = (
                math.inf
                if last
                else rate * (self.changes[index + 1].at - change.at).total_seconds()
            )
            if accumulated + gained >= capacity - _EPSILON:
                if capacity - accumulated <= _EPSILON:
                    return change.at
                if rate <= 0:
                    return None
                return change.at + timedelta(seconds=(capacity - _EPSILON - accumulated) / rate)
            accumulated += gained
        return None  # pragma: no cover - the last change has no end


# Rounding slack: rate x T admissions must be counted exactly at T.
_EPSILON = 1e-6
_MICROSECOND = timedelta(microseconds=1)
_NO_GRACE = timedelta(0)
# Admission times remembered between joins and rate changes, at most (a few MB).
_REMEMBERED_TIMES = 100_000
_UNKNOWN = object()


class _Checkpoint(NamedTuple):
    # A tuple of atoms: the garbage collector stops tracking it, so a waiting room of
    # hundreds of thousands of joins adds nothing to a full collection.
    at: datetime
    capacity: float  # the schedule's capacity at `at`
    admitted: float  # admissions made by `at` (a fluid count)
    ranked: int  # tickets in the admission order by `at`


class AdmissionLedger:
    """Who is admitted by when, given the order tickets joined in and the rate history.

    Admission runs at the rate but never ahead of the queue: capacity unused while
    nobody waits is not banked, so a burst after a quiet spell still queues. Between
    two joins the count admitted grows at the rate until it reaches the tickets
    ranked so far: admitted(t) = min(ranked, admitted_i + capacity(t) - capacity_i),
    from the last join i before t. Joins must be fed in order of time.
    """

    def __init__(self, schedule: AdmissionSchedule) -> None:
        self.schedule = schedule
        self._pre_queue = 0
        self._points: list[_Checkpoint] = []
        self._times: list[datetime] = []  # the points' times, for bisection
        # rank -> admitted_at(rank): every poll of a waiting ticket asks for it, and it
        # changes only with a join or a rate change, which forget it.
        self._admission_times: dict[int, datetime | None] = {}

    @property
    def ranked(self) -> int:
        return self._points[-1].ranked if self._points else self._pre_queue

    def join(self, at: datetime) -> int:
        """Rank a ticket that joined at launch time `at`; before the opening the rank is
        its place among the pre-queue, which the shuffle then reorders."""
        self._admission_times.clear()
        if at < self.schedule.opens_at and not self._points:
            self._pre_queue += 1
            return self._pre_queue
        self._open()
        last = self._points[-1]
        admitted = self._admitted_at_time(last, at)
        point = _Checkpoint(at, self.schedule.capacity(at), admitted, last.ranked + 1)
        self._append(point)
        return point.ranked

    def change(self, change: RateChange) -> None:
        """Apply a rate change (at or after every join fed so far)."""
        self._admission_times.clear()
        if self._points and change.at > self._points[-1].at:
            # Close the stretch before the change under the old rate.
            last = self._points[-1]
            admitted = self._admitted_at_time(last, change.at)
            capacity = self.schedule.capacity(change.at)
            self._append(_Checkpoint(change.at, capacity, admitted, last.ranked))
        self.schedule = self.schedule.changed(change)

    def admitted_by(self, at: datetime) -> int:
        """Tickets admitted by launch time `at`."""
        if at <= self.schedule.opens_at:
            return 0
        point = self._point_before(at)
        return math.floor(self._admitted_at_time(point, at) + _EPSILON)

    def admitted_at(self, rank: int) -> datetime | None:
        """When the ticket of `rank` is or was admitted; None while the room is paused."""
        known = self._admission_times.get(rank, _UNKNOWN)
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
        when = self._admitted_at(rank)
        if len(self._admission_times) >= _REMEMBERED_TIMES:
            self._admission_times.clear()
        self._admission_times[rank] = when
        return when

    def _admitted_at(self, rank: int) -> datetime | None:
        self._open()
        # The count admitted never goes down: find the first checkpoint at or past `rank`;
        # the ticket was admitted in the stretch before it, else in the current one.
        low, high = 1, len(self._points)
        while low < high:
            middle = (low + high) // 2
            if self._points[middle].admitted + _EPSILON >= rank:
                high = middle
            else:
                low = middle + 1
        start = self._points[low - 1]
        if rank > start.ranked:
            return None
        when = self.schedule.time_of_capacity(start.capacity + rank - start.admitted)
        if when is None:
            return None
        # Datetimes hold whole microseconds: settle on the first one admitted_by counts.
        while when > self.schedule.opens_at and self.admitted_by(when - _MICROSECOND) >= rank:
            when -= _MICROSECOND
        while self.admitted_by(when) < rank:
            when += _MICROSECOND
        return when

    def admission_times(self, count: int) -> list[datetime | None]:
        """When ranks 1..count are or were admitted, in one sweep (for reports; to the
        microsecond as `timedelta` rounds, without `admitted_at`'s settling)."""
        self._open()
        points = self._points
        times: list[datetime | None] = []
        stretch = 1
        for rank in range(1, count + 1):
            while stretch < len(points) and points[stretch].admitted + _EPSILON < rank:
                stretch += 1
            start = points[stretch - 1]
            if rank > start.ranked:
                times.append(None)
                continue
            times.append(self.schedule.time_of_capacity(start.capacity + rank - start.admitted))
        return times

    def longest_queue(self, until: datetime) -> int:
        """The most tickets waiting at once up to launch time `until`."""
        self._open()
        return max(
            (p.ranked - math.floor(p.admitted + _EPSILON) for p in self._points if p.at <= until),
            default=0,
        )

    def _open(self) -> None:
        """Start the ledger at the opening, with the pre-queue ranked."""
        if not self._points:
            self._append(_Checkpoint(self.schedule.opens_at, 0.0, 0.0, self._pre_queue))

    def _append(self, point: _Checkpoint) -> None:
        self._points.append(point)
        self._times.append(point.at)

    def _point_before(self, at: datetime) -> _Checkpoint:
        self._open()
        return self._points[max(bisect.bisect_right(self._times, at) - 1, 0)]

    def _admitted_at_time(self, point: _Checkpoint, at: datetime) -> float:
        grown = point.admitted + self.schedule.capacity(max(at, point.at)) - point.capacity
        return min(float(point.ranked), grown)


def shuffle_key(seed: bytes, customer: str) -> bytes:
    """The pre-queue sort key: unpredictable without the seed, fixed once the seed is."""
    return hmac.new(seed, customer.encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class TicketView:
    """What a ticket's holder sees."""

    state: TicketState
    position: int | None  # 1 = next to be admitted; None before the opening or once admitted
    people_ahead: int | None
    eta_seconds: float | None  # launch seconds until admission, when it can be known
    admitted_at: datetime | None
    expires_at: datetime | None
    # Expired, and rejoining before this keeps the place (see launchday.domain.rejoin).
    keeps_place_until: datetime | None = None


def view_ticket(
    rank: int | None,
    ledger: AdmissionLedger,
    at: datetime,
    token_ttl: timedelta,
    grace: timedelta = _NO_GRACE,
    readmitted_at: datetime | None = None,
) -> TicketView:
    """A ticket's state at launch time `at`; `rank` is None until the pre-queue is shuffled.

    `grace` is how long after expiry a rejoin keeps the place; `readmitted_at` is when
    a place already kept once was admitted again (it cannot be kept a second time).
    """
    if readmitted_at is not None:
        expires_at = readmitted_at + token_ttl
        state = TicketState.ADMITTED if at < expires_at else TicketState.EXPIRED
        return TicketView(state, None, 0, 0.0, readmitted_at, expires_at)
    opens_at = ledger.schedule.opens_at
    if rank is None or at < opens_at:
        eta = (opens_at - at).total_seconds() if at < opens_at else None
        return TicketView(TicketState.WAITING, None, None, eta, None, None)
    admitted = ledger.admitted_by(at)
    if rank <= admitted:
        admitted_at = ledger.admitted_at(rank) or at
        expires_at = admitted_at + token_ttl
        if at < expires_at:
            return TicketView(TicketState.ADMITTED, None, 0, 0.0, admitted_at, expires_at)
        keeps = expires_at + grace if grace > _NO_GRACE else None
        return TicketView(TicketState.EXPIRED, None, 0, 0.0, admitted_at, expires_at, keeps)
    position = rank - admitted
    when = ledger.admitted_at(rank)
    eta = None if when is None else max((when - at).total_seconds(), 0.0)
    return TicketView(TicketState.WAITING, position, position - 1, eta, None, None)


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """A waiting room at one moment, as a dashboard shows it.

    `joined` counts places given out (a rejoin at the back of the queue is a join
    again) and `admitted` the places whose turn has come; `rejoined_kept_place` and
    `rejoined_back` count the lapsed tickets that came back, by where they came back to.
    """

    joined: int
    admitted: int
    rate_per_second: float
    paused: bool
    rejoined_kept_place: int = 0
    rejoined_back: int = 0

    @property
    def waiting(self) -> int:
        return self.joined - self.admitted
