"""What a replay tells of its lateness: when the late actions were due."""

from __future__ import annotations

from collections import Counter

from launchday.sim.replay_stats import ReplayStats


def test_late_seconds_are_told_as_runs_of_consecutive_seconds_in_time_order() -> None:
    stats = ReplayStats(late_by_second=Counter({1: 156, 2: 2_369, 7: 522, 8: 6_302, 9: 2_703}))
    assert stats.late_spans() == "s 1-2: 2,525; s 7-9: 9,527"


def test_only_the_runs_with_the_most_late_actions_are_told() -> None:
    stats = ReplayStats(late_by_second=Counter({0: 5, 3: 40, 10: 2, 47: 571, 49: 13}))
    assert stats.late_spans(most=2) == "s 3: 40; s 47: 571"
    assert stats.late_spans() == "s 0: 5; s 3: 40; s 47: 571; s 49: 13"


def test_a_replay_that_kept_up_has_no_late_seconds() -> None:
    assert ReplayStats().late_spans() == ""
