"""Which promises a new schedule changes, over the whole queue at once.

A re-promise compares each order's new promise with the one it holds and keeps the
changes; a move of a week or more is told to the buyer. A supply change can move every
one of a million orders, so promises are compared as columns (numpy), by order sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from launchday.domain.build_schedule import Schedule
from launchday.domain.delivery_promise import promised_weeks
from launchday.domain.parts import NEVER

Ints = NDArray[np.int64]
NONE = -1  # no build week or promised week: past the horizon


@dataclass(frozen=True, slots=True)
class PromiseColumns:
    """Promises by order sequence (sorted): build week and first promised week (`weeks[0]`),
    NONE past the horizon."""

    seq: Ints
    build_week: Ints
    weeks_from: Ints

    @classmethod
    def of(cls, seq: Ints, build_week: Ints, weeks_from: Ints) -> PromiseColumns:
        order = np.argsort(seq, kind="stable")
        return cls(seq[order], build_week[order], weeks_from[order])

    @classmethod
    def empty(cls) -> PromiseColumns:
        nothing = np.zeros(0, dtype=np.int64)
        return cls(nothing, nothing, nothing)

    def __len__(self) -> int:
        return len(self.seq)

    def lookup(self, seq: Ints) -> tuple[NDArray[np.bool_], Ints, Ints]:
        """For each sequence: whether it is here, and its build week and first week."""
        if not len(self.seq):
            none = np.full(len(seq), NONE, dtype=np.int64)
            return np.zeros(len(seq), dtype=bool), none, none
        at = np.minimum(np.searchsorted(self.seq, seq), len(self.seq) - 1)
        return self.seq[at] == seq, self.build_week[at], self.weeks_from[at]

    def with_fallback(self, other: PromiseColumns) -> PromiseColumns:
        """These promises, and for the orders they lack, `other`'s."""
        missing = ~_among(self.seq, other.seq)
        return PromiseColumns.of(
            np.concatenate([self.seq, other.seq[missing]]),
            np.concatenate([self.build_week, other.build_week[missing]]),
            np.concatenate([self.weeks_from, other.weeks_from[missing]]),
        )


def _among(sorted_seq: Ints, values: Ints) -> NDArray[np.bool_]:
    """For each of `values`: whether it is in `sorted_seq`."""
    if not len(sorted_seq):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_seq, values), len(sorted_seq) - 1)
    return np.asarray(sorted_seq[at] == values)


def schedule_promises(schedule: Schedule, seq: Ints, placed_at_us: Ints) -> PromiseColumns:
    """The schedule's promise to each of its orders (`seq` and `placed_at_us` as its queue)."""
    build = np.where(schedule.week < NEVER, schedule.week, NONE)
    return PromiseColumns.of(seq, build, promised_weeks(schedule, placed_at_us))


@dataclass(frozen=True, slots=True)
class PromiseDiff:
    """Against the promises kept: the orders (queue indexes) whose promise to keep
    changed, those among them that moved a week or more (with the first week they held),
    and the sequences kept that are no longer queued."""

    changed: Ints
    moved: Ints
    moved_from: Ints
    gone: Ints


def compare(seq: Ints, build_week: Ints, weeks_from: Ints, kept: PromiseColumns) -> PromiseDiff:
    """`seq`, `build_week` and `weeks_from` per queued order, against `kept`."""
    found, kept_build, kept_from = kept.lookup(seq)
    changed = ~found | (kept_build != build_week) | (kept_from != weeks_from)
    into_or_out = (kept_from == NONE) != (weeks_from == NONE)
    moved = found & (into_or_out | (np.abs(weeks_from - kept_from) >= 1))
    gone = ~_among(np.sort(seq), kept.seq)
    return PromiseDiff(
        np.flatnonzero(changed), np.flatnonzero(moved), kept_from[moved], kept.seq[gone]
    )
