"""The waiting room's arithmetic: who is admitted by when, at a rate that can change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """A waiting room at one moment, as a dashboard shows it."""

    joined: int
    admitted: int
    rate_per_second: float
    paused: bool

    @property
    def waiting(self) -> int:
        return self.joined - self.admitted
