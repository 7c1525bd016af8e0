"""The build queue: the orders waiting for a car, in the order their cars are built.

An order's place is set by when it locks: a locked order's lock time, a reserved order's
window end (as if it locks then, so locking early moves it up), ties by `sequence`.
Variants the plan puts first (`priority_skus`) go ahead of all others. Cancelled and
expired orders are not in the queue at all.

The queue is kept as columns (numpy arrays, one entry per order) because a launch
night queues hundreds of thousands of orders and the schedule is worked out over all of
them at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from launchday.domain.clock import EPOCH

Ints = NDArray[np.int64]


def micros(moment: datetime) -> int:
    """A moment as whole microseconds since the epoch, the queue's unit of time."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class BuildQueue:
    """Orders by index: `sku[i]` indexes `skus`; `locks_at[i]` is when order i locks (or
    locked), in microseconds since the epoch; `sequence[i]` breaks ties."""

    skus: tuple[str, ...]
    sku: Ints
    locks_at: Ints
    sequence: Ints

    def __len__(self) -> int:
        return len(self.sku)

    @classmethod
    def of(cls, skus: Iterable[str], orders: Iterable[tuple[str, datetime, int]]) -> BuildQueue:
        """A queue of (sku, locks at, sequence) entries; the SKUs must be among `skus`."""
        names = tuple(skus)
        index = {sku: i for i, sku in enumerate(names)}
        rows = [(index[sku], micros(at), sequence) for sku, at, sequence in orders]
        columns = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return cls(names, columns[:, 0].copy(), columns[:, 1].copy(), columns[:, 2].copy())

    def ranked(self, priority_skus: Iterable[str]) -> Ints:
        """Order indexes in build order: priority variants first, then by lock time and
        sequence."""
        first = self.priority_class(priority_skus)
        return np.lexsort((self.sequence, self.locks_at, first)).astype(np.int64)

    def priority_class(self, priority_skus: Iterable[str]) -> Ints:
        """0 for an order of a priority variant, 1 for any other."""
        wanted = set(priority_skus)
        preferred = [i for i, sku in enumerate(self.skus) if sku in wanted]
        return np.where(np.isin(self.sku, preferred), 0, 1).astype(np.int64)
