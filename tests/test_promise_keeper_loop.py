"""The re-promise loop never spins: a re-promise that has finished, its done-callbacks
not yet run by the event loop, and whose book is older than the changes marked since, is
not awaited again (that returns at once, never yielding to the loop that would run the
callbacks): a new one is started. A server once spun there for good mid-burst. And one
in the background paces its steps."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from launchday.services.promise_keeper import PACE, PromiseKeeper, Steps


def test_a_finished_stale_repromise_is_followed_by_a_new_one_not_awaited_for_ever() -> None:
    stale, fresh = SimpleNamespace(generation=0), SimpleNamespace(generation=1)
    answers: list[Any] = []

    async def scenario() -> Any:
        launches: Any = SimpleNamespace(store=None, clock=lambda: datetime.now(UTC))
        keeper = PromiseKeeper(launches, lambda slug: None)
        finished = asyncio.get_running_loop().create_future()
        finished.set_result(stale)  # done; the loop has not yet run its callbacks
        keeper._repromising["yu7"] = finished  # type: ignore[assignment]
        keeper._marks["yu7"] = 1  # a change marked after the finished one read the queue

        async def repromise_again(slug: str, paced: bool) -> Any:
            return fresh

        keeper._repromise = repromise_again  # type: ignore[method-assign]
        return await keeper.repromise("yu7")

    # In a thread of its own: were the loop to spin, the test fails instead of hanging.
    runner = threading.Thread(target=lambda: answers.append(asyncio.run(scenario())), daemon=True)
    runner.start()
    runner.join(timeout=10)
    assert not runner.is_alive(), "repromise spun without yielding to the event loop"
    assert answers == [fresh]


def test_a_background_repromise_pauses_after_each_step_twice_what_it_took() -> None:
    async def scenario(paced: bool) -> tuple[list[float], float]:
        asked: list[float] = []

        async def sleep(seconds: float) -> None:
            asked.append(seconds)

        steps = Steps(paced, sleep)
        for seconds in (0.01, 0.03):
            assert await steps(asyncio.sleep(seconds, result=seconds)) == seconds
        return asked, steps.paused

    asked, paused = asyncio.run(scenario(paced=True))
    assert len(asked) == 2
    # At least PACE times each step (the loop's clock may fire a hair early).
    assert asked[0] >= PACE * 0.009
    assert asked[1] >= PACE * 0.029
    assert paused == sum(asked)
    assert asyncio.run(scenario(paced=False)) == ([], 0.0)  # one a caller waits for
