"""How early to send: a correction learnt from the stamps the server gives what it takes."""

from __future__ import annotations

FIRST_LEAD_SAMPLES = 4
LEAD_SAMPLES = 32


class Lead:
    """How early to send so that an action is stamped on time: an integral controller
    over the mean of the recent residuals (real seconds), bounded by `bound`.

    Its first steps come after a few residuals, then after more and more (up to
    LEAD_SAMPLES): a launch whose first milestones hold a few dozen orders must be
    corrected within them.
    """

    def __init__(self, bound: float, start: float = 0.0) -> None:
        self.bound = bound
        self.seconds = min(max(start, 0.0), bound)
        self._residuals: list[float] = []
        self._window = FIRST_LEAD_SAMPLES

    def correct(self, residual: float) -> None:
        """Take one action's delay between its due time and its stamp (real seconds)."""
        # One stalled request must not swing the correction: clip each residual.
        self._residuals.append(min(max(residual, -self.bound), self.bound))
        if len(self._residuals) >= self._window:
            step = sum(self._residuals) / len(self._residuals)
            self._residuals.clear()
            self._window = min(2 * self._window, LEAD_SAMPLES)
            self.seconds = min(max(self.seconds + step, 0.0), self.bound)
