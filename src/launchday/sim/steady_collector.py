"""The load driver's garbage collector, kept from pausing a replay.

A replay holds its whole night in memory before the opening: every planned action, its
customer and token (a YU7 night: over a million objects the collector tracks). Python
walks all of them in each full collection, and a burst of requests allocates fast
enough to set one off within the first second: measured, 0.9-1.2 s in which the
driver sent nothing, so every action of that second went out late and the server took
the blame for a backlog the driver made. Frozen, what was alive at the opening is never
walked again; and while the replay runs, only the young generations are collected
(a request's short-lived cycles die there), not the whole heap.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# The oldest generation is collected after this many collections of the middle one:
# never within a replay (the default, 10, comes round every few seconds at full load).
NO_FULL_COLLECTIONS = 1 << 30


@contextmanager
def steady_collector() -> Iterator[None]:
    """Freeze what is alive now and hold off full collections until the block ends;
    then the collector is as it was and the frozen objects are its again."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, NO_FULL_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)
        gc.unfreeze()
