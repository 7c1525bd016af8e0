"""What every scenario shares: the run's settings, its scratch folder and its tokens."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.wrk import Slice, WrkRun, median_of

ADMIN_KEY = "bench-admin-key"
SECRET = b"bench-secret-0123456789abcdef-0123456789abcdef"


@dataclass(frozen=True)
class Bench:
    """The settings of one `bench/run.py` invocation."""

    console: Console
    scratch: Path
    tokens: Path  # the pre-minted customer tokens, line n for customer b-<n>
    token_count: int
    warmup_seconds: float
    seconds: float
    repeats: int
    connections: int
    threads: int  # wrk threads (all on the load core)
    report_orders: int

    @property
    def run_seconds(self) -> list[float]:
        """The warm-up, then the measured repeats."""
        return [self.warmup_seconds] + [self.seconds] * self.repeats

    def slices(self, tokens: Path, rate: float, start: int = 0) -> list[Slice]:
        """Disjoint token slices for the warm-up and each repeat, each big enough for
        `rate` requests per second for the run's length (and split between threads)."""
        slices = []
        first = start
        for seconds in self.run_seconds:
            per_thread = math.ceil(rate * seconds / self.threads)
            slices.append(Slice(tokens, first, per_thread, self.threads))
            first = slices[-1].end
        return slices

    def tokens_needed(self, rate: float) -> int:
        return self.slices(self.tokens, rate)[-1].end


@dataclass
class ScenarioResult:
    """One row of the table: a scenario's runs and what was checked about them."""

    key: str
    title: str
    runs: list[WrkRun] = field(default_factory=list)
    warmup: WrkRun | None = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    memory_mb: tuple[float, float] | None = None  # (resident at the end, peak)
    # Scenario-specific figures (seconds of a report, lag of a replay, ...).
    figures: dict[str, Any] = field(default_factory=dict)
    # Measures that do not come from wrk runs (the replay's), in place of their medians.
    measured: dict[str, float] = field(default_factory=dict)

    def median(self, name: str) -> float | None:
        """A measure's median over the repeats (or its `measured` value); None if neither."""
        if name in self.measured:
            return self.measured[name]
        return median_of(self.runs, name) if self.runs else None

    @property
    def errors(self) -> int | None:
        """Errors over all measured runs (not the warm-up)."""
        if "errors" in self.measured:
            return int(self.measured["errors"])
        return sum(run.errors for run in self.runs) if self.runs else None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "skipped": self.skipped,
            "requests_per_second": self.median("requests_per_second"),
            "p50_ms": self.median("p50_ms"),
            "p99_ms": self.median("p99_ms"),
            "errors": self.errors,
            "memory_mb": (
                None
                if self.memory_mb is None
                else {"resident": round(self.memory_mb[0], 1), "peak": round(self.memory_mb[1], 1)}
            ),
            "notes": self.notes,
            "problems": self.problems,
            "figures": self.figures,
            "warmup": self.warmup.summary() if self.warmup else None,
            "runs": [run.summary() for run in self.runs],
        }
