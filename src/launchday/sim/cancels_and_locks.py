"""What follows a simulated order: which buyers cancel, which lock early, and when.

Drawn from the arrivals, each order's refundable window and the scenario's lock
milestones; the same rng gives the same plan. `customers` assembles these into
each buyer's `PlannedOrder`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Final

from launchday.sim.curve import milestone_curve, sample_segment
from launchday.sim.scenario import Milestone, scaled_count

# Cancellations fall within this long after the order (or the window, if shorter).
CANCEL_HORIZON_SECONDS: Final = 86_400.0


def plan_cancels(
    arrivals: Sequence[float],
    windows: Sequence[float | None],
    share: float,
    rng: random.Random,
    *,
    not_before: Sequence[float | None] | None = None,
) -> list[float | None]:
    """When each order is cancelled (None: never): share x orders of the refundable ones.

    `not_before[j]`, where given, is the earliest time order j may be cancelled (a
    limited order, until its run's last seeker has arrived); an order whose horizon
    ends first is not eligible.
    """
    earliest: list[float | None] = (
        [None] * len(arrivals) if not_before is None else list(not_before)
    )

    def horizon(j: int) -> float:
        window = windows[j]
        assert window is not None  # only asked of orders with a window
        return arrivals[j] + min(window, CANCEL_HORIZON_SECONDS)

    def can_cancel(j: int) -> bool:
        window, start = windows[j], earliest[j]
        return window is not None and window > 0 and (start is None or start < horizon(j))

    eligible = [j for j in range(len(arrivals)) if can_cancel(j)]
    wanted = min(len(eligible), scaled_count(len(arrivals), share))
    cancel_at: list[float | None] = [None] * len(arrivals)
    for j in sorted(rng.sample(eligible, wanted)):
        window = windows[j]
        assert window is not None  # eligible ones have a window
        start = earliest[j]
        if start is None or start <= arrivals[j]:
            # random() < 1, so the cancellation is always strictly inside the window.
            cancel_at[j] = arrivals[j] + rng.random() * min(window, CANCEL_HORIZON_SECONDS)
        else:
            cancel_at[j] = start + rng.random() * (horizon(j) - start)
    return cancel_at


def plan_locks(
    arrivals: Sequence[float],
    window_ends: Sequence[float | None],
    locks: Sequence[Milestone],
    rng: random.Random,
) -> tuple[list[float | None], int]:
    """Early lock times that bring the locked count to each lock milestone, and how many are unmet.

    `window_ends[j]` is when order j would lock by itself; None for an order that never
    locks (cancelled, or not expected to be placed). Arrivals are sorted.
    """
    lock_at: list[float | None] = [None] * len(arrivals)
    if not locks:
        return lock_at, 0
    curve = milestone_curve(locks)
    pool: list[int] = []
    cursor = 0
    unmet = 0
    for segment, target in enumerate(locks):
        until = target.after_seconds
        already = sum(1 for j, end in enumerate(window_ends) if _is_locked(lock_at[j], end, until))

        def eligible(j: int, until: float = until) -> bool:
            end = window_ends[j]
            return lock_at[j] is None and end is not None and end > until

        for at in sample_segment(curve, segment, max(0, target.orders - already), rng):
            # Only buyers who have ordered by then can lock.
            while cursor < len(arrivals) and arrivals[cursor] < at:
                if eligible(cursor):
                    pool.append(cursor)
                cursor += 1
            chosen = _take(pool, eligible, rng)
            if chosen is None:
                unmet += 1
            else:
                lock_at[chosen] = at
    return lock_at, unmet


def _is_locked(lock_at: float | None, window_end: float | None, at: float) -> bool:
    since = locked_from(lock_at, window_end)
    return since is not None and since <= at


def locked_from(lock_at: float | None, window_end: float | None) -> float | None:
    """When an order reads as locked: its early lock or its window's end, whichever first."""
    if window_end is None:
        return None
    return window_end if lock_at is None else min(lock_at, window_end)


def _take(pool: list[int], eligible: Callable[[int], bool], rng: random.Random) -> int | None:
    """A random eligible member of `pool`, removed; the ineligible met on the way are dropped."""
    while pool:
        i = rng.randrange(len(pool))
        pool[i], pool[-1] = pool[-1], pool[i]
        j = pool.pop()
        # Ineligible now means ineligible for good: locks stay, and milestones only move later.
        if eligible(j):
            return j
    return None
