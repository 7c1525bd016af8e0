"""What a replay did so far, read by progress displays while it runs."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ReplayStats:
    """What the replay did so far; read by progress displays while it runs."""

    due: int = 0
    sent: int = 0
    orders_acked: int = 0
    orders_failed: int = 0
    fallbacks: int = 0
    locks: int = 0
    cancels: int = 0
    payments: int = 0  # deposits paid at the rehearsal provider
    paid_minor: int = 0  # ...and what they came to, in minor units
    skipped: int = 0
    retries: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    late: int = 0
    late_by_second: Counter[int] = field(default_factory=Counter)  # real s after opening
    max_lag: float = 0.0
    lags: list[float] = field(default_factory=list)
    # Each order placed at its time: that time and the server's stamp less it (launch s).
    stamps: list[tuple[float, float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    launch_elapsed: float = 0.0
    lead: float = 0.0  # seconds each action is sent early to arrive on time (see module)
    queue_lead: float = 0.0  # ...and each waiting-room journey starts early
    queue_joined: int = 0
    queue_polls: int = 0
    queue_admitted: int = 0
    queue_lapses: int = 0  # admissions planned to lapse, let go
    queue_rejoined: int = 0  # lapsed tickets brought back into the room
    queue_waiting: int | None = None  # as the server counts it, when a rehearsal asks

    def lag_quantile(self, q: float) -> float:
        """The q-quantile of how late actions were sent, in real seconds."""
        if not self.lags:
            return 0.0
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def late_spans(self, most: int = 4) -> str:
        """When the late actions were due: the `most` runs of consecutive seconds (real,
        after the opening) with the most of them, in time order, e.g.
        "s 1-2: 2,369; s 47: 571"."""
        spans: list[tuple[int, int, int]] = []  # first second, last second, late actions
        for second in sorted(self.late_by_second):
            count = self.late_by_second[second]
            if spans and spans[-1][1] == second - 1:
                first, _, total = spans[-1]
                spans[-1] = (first, second, total + count)
            else:
                spans.append((second, second, count))
        kept = sorted(sorted(spans, key=lambda span: -span[2])[:most])
        return "; ".join(
            f"s {first}: {total:,}" if first == last else f"s {first}-{last}: {total:,}"
            for first, last, total in kept
        )
