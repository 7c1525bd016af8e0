"""Ids are unguessable (96 random bits), URL-safe, never repeated, and sort by time."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from hypothesis import given
from hypothesis import strategies as st

from launchday.services.ids import SORTED_ALPHABET, RandomIds, time_prefix


def test_ids_are_url_safe_and_distinct_with_96_random_bits_across_batches_and_threads() -> None:
    ids = RandomIds()
    with ThreadPoolExecutor(4) as pool:
        drawn = list(pool.map(lambda _: ids(), range(20_000)))  # several batches of 4,096
    assert len(set(drawn)) == len(drawn)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{24}", i) for i in drawn)
    # Every position of the random part varies: nothing fixed or sequential leaks there.
    for position in range(8, 24):
        assert len({i[position] for i in drawn[:2000]}) > 40


def test_ids_sort_as_the_times_they_were_drawn_at() -> None:
    now = [1_764_590_000_000]
    ids = RandomIds(clock_ms=lambda: now[0])
    drawn = []
    for step in (0, 1, 63, 64, 1_000, 86_400_000, 0, 5):
        now[0] += step
        drawn.append(ids())
    assert [i[:8] for i in drawn] == sorted(i[:8] for i in drawn)
    assert drawn[0][:8] == time_prefix(1_764_590_000_000)
    assert drawn[-2][:8] == drawn[-3][:8]  # the same millisecond, the same prefix


def test_the_sorted_alphabet_is_base64url_in_ascii_order() -> None:
    assert sorted(SORTED_ALPHABET) == list(SORTED_ALPHABET)
    assert set(SORTED_ALPHABET) == set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


@given(st.integers(0, 2**48 - 1), st.integers(0, 2**48 - 1))
def test_time_prefixes_compare_as_their_milliseconds(a: int, b: int) -> None:
    assert len(time_prefix(a)) == 8
    assert (time_prefix(a) < time_prefix(b)) == (a < b)
