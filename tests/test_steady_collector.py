"""The load driver's collector during a replay: no full collections, what was alive at
the opening frozen, and everything as it was afterwards (launchday.sim.steady_collector)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from datetime import UTC, datetime

import pytest

from launchday.sim.driver import LoadDriver
from launchday.sim.replay_stats import ReplayStats
from launchday.sim.steady_collector import NO_FULL_COLLECTIONS, steady_collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_inside_the_block_nothing_older_is_walked_and_young_cycles_still_go() -> None:
    before = gc.get_threshold()
    alive_before = Node()
    with steady_collector():
        assert gc.get_threshold() == (before[0], before[1], NO_FULL_COLLECTIONS)
        assert gc.get_freeze_count() > 0
        assert not any(obj is alive_before for obj in gc.get_objects())  # frozen
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect(0)  # the young generation's collection still frees cycles
        assert gone() is None
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert any(obj is alive_before for obj in gc.get_objects())


def test_the_collector_is_restored_when_the_block_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), steady_collector():
        raise RuntimeError("the replay failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_replay_runs_with_the_collector_steady_and_leaves_it_as_it_was() -> None:
    seen: list[tuple[int, int]] = []

    def tick(stats: ReplayStats) -> None:
        seen.append((gc.get_freeze_count(), gc.get_threshold()[2]))

    async def replay() -> None:
        async with LoadDriver("http://127.0.0.1:9", "none", lambda customer: "t") as driver:
            await driver.replay(
                [], opens_at=datetime.now(UTC), opens_in=0.0, speed=1.0, on_tick=tick
            )

    before = gc.get_threshold()
    asyncio.run(replay())
    assert seen, "the replay ticked"
    assert all(frozen > 0 and old == NO_FULL_COLLECTIONS for frozen, old in seen)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
