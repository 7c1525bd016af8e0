"""Ids are unguessable: 96 random bits, URL-safe, never repeated."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from launchday.ids import RandomIds


def test_ids_are_url_safe_96_bit_and_distinct_across_batches_and_threads() -> None:
    ids = RandomIds()
    with ThreadPoolExecutor(4) as pool:
        drawn = list(pool.map(lambda _: ids(), range(20_000)))  # several batches of 4,096
    assert len(set(drawn)) == len(drawn)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", i) for i in drawn)
    # Every character position varies: nothing fixed or sequential leaks into an id.
    for position in range(16):
        assert len({i[position] for i in drawn[:2000]}) > 40
