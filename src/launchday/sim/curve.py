"""Smooth monotone cumulative curves through milestones, and arrival times drawn along them.

How the curve is drawn
----------------------
The knots are (0, 0) and every milestone (seconds after opening, cumulative
count). Between knots the curve is a cubic Hermite piece: it is fixed by the
values at both knots and by a slope at each knot. The slopes follow Fritsch and
Carlson (1980), "Monotone Piecewise Cubic Interpolation":

1. Each segment k has its secant slope d_k = (y_{k+1} - y_k) / (x_{k+1} - x_k).
2. An interior knot starts with the mean of the secants either side, or 0 when
   either side is flat (a flat segment must stay flat).
3. The two end knots use the one-sided three-point formula (as PCHIP does), so the
   opening rate follows the trend of the first two segments: for the YU7 it gives
   about 6,800 orders per second at the opening second, close to the derived peak.
4. In each segment, with a = m_k / d_k and b = m_{k+1} / d_k, if a^2 + b^2 > 9
   both slopes are scaled down by 3 / sqrt(a^2 + b^2). Inside that circle the
   cubic piece cannot overshoot, so the whole curve is monotone and passes
   exactly through every knot. Past the last knot the curve stays flat.

How arrivals are drawn
----------------------
Counts at milestones are integers, so segment k holds exactly
y_{k+1} - y_k arrivals. Each is placed by inverse-transform sampling of the
curve restricted to the segment: draw u uniformly in (y_k, y_{k+1}] and solve
curve(x) = u for x in (x_k, x_{k+1}] (safeguarded Newton on the cubic). The
times within a segment are thus independent draws from the density the curve's
slope describes, and the per-segment counts are exact, not random.

Pure and stdlib only: randomness comes from the `random.Random` passed in.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from launchday.sim.scenario import Milestone

# Relative precision of the inverse: far below a microsecond on any launch timescale.
_SOLVE_TOLERANCE = 1e-12
_SOLVE_MAX_STEPS = 100


@dataclass(frozen=True, slots=True)
class MonotoneCurve:
    """A non-decreasing piecewise cubic through `(xs[k], ys[k])`; flat outside the knots."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    slopes: tuple[float, ...]
    # Per segment, y(t) = c0 + c1 t + c2 t^2 + c3 t^3 with t in [0, 1] across the segment.
    coefficients: tuple[tuple[float, float, float, float], ...]

    @property
    def segments(self) -> int:
        """How many pieces the curve has (one fewer than its knots)."""
        return len(self.xs) - 1

    def value(self, x: float) -> float:
        """The cumulative count at `x`."""
        if x <= self.xs[0]:
            return self.ys[0]
        if x >= self.xs[-1]:
            return self.ys[-1]
        k = self._segment_at(x)
        return _cubic(self.coefficients[k], self._t(k, x))

    def rate(self, x: float) -> float:
        """The slope (arrivals per second) at `x`; 0 outside the knots."""
        if x < self.xs[0] or x > self.xs[-1] or self.segments == 0:
            return 0.0
        k = min(self._segment_at(x), self.segments - 1)
        return _cubic_slope(self.coefficients[k], self._t(k, x)) / self._width(k)

    def peak_rate(self) -> float:
        """The steepest slope anywhere on the curve (arrivals per second).

        Exact: a piece's slope is a quadratic in t, so its largest value on [0, 1] is at
        an end or at the quadratic's vertex.
        """
        peak = 0.0
        for k, (_, _, c2, c3) in enumerate(self.coefficients):
            candidates = [0.0, 1.0]
            if c3 < 0:
                vertex = -c2 / (3 * c3)
                if 0 < vertex < 1:
                    candidates.append(vertex)
            width = self._width(k)
            for t in candidates:
                peak = max(peak, _cubic_slope(self.coefficients[k], t) / width)
        return peak

    def time_of(self, segment: int, y: float) -> float:
        """The `x` in segment `segment` at which the curve reaches `y` (clamped to the segment)."""
        x0, x1 = self.xs[segment], self.xs[segment + 1]
        y0, y1 = self.ys[segment], self.ys[segment + 1]
        if y <= y0:
            return x0
        if y >= y1:
            return x1
        t = _solve(self.coefficients[segment], y, (y - y0) / (y1 - y0), 0.0)
        return min(x1, max(x0, x0 + t * (x1 - x0)))

    def _segment_at(self, x: float) -> int:
        return min(bisect.bisect_right(self.xs, x) - 1, self.segments - 1)

    def _width(self, k: int) -> float:
        return self.xs[k + 1] - self.xs[k]

    def _t(self, k: int, x: float) -> float:
        return (x - self.xs[k]) / self._width(k)


def monotone_curve(points: Sequence[tuple[float, float]]) -> MonotoneCurve:
    """The Fritsch–Carlson monotone cubic through `points` (x strictly up, y non-decreasing)."""
    _check_points(points)
    xs = tuple(float(x) for x, _ in points)
    ys = tuple(float(y) for _, y in points)
    slopes = fritsch_carlson_slopes(xs, ys)
    coefficients = tuple(
        _hermite(xs[k + 1] - xs[k], ys[k], ys[k + 1], slopes[k], slopes[k + 1])
        for k in range(len(xs) - 1)
    )
    return MonotoneCurve(xs, ys, slopes, coefficients)


def milestone_curve(milestones: Sequence[Milestone]) -> MonotoneCurve:
    """The cumulative curve through (0, 0) and every milestone."""
    return monotone_curve([(0.0, 0.0), *((m.after_seconds, float(m.orders)) for m in milestones)])


def fritsch_carlson_slopes(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, ...]:
    """Knot slopes that keep the cubic Hermite interpolant of non-decreasing data monotone."""
    n = len(xs)
    if n < 2:
        return (0.0,) * n
    widths = [xs[k + 1] - xs[k] for k in range(n - 1)]
    secants = [(ys[k + 1] - ys[k]) / widths[k] for k in range(n - 1)]
    if n == 2:
        return (secants[0], secants[0])
    slopes = [0.0] * n
    slopes[0] = _end_slope(widths[0], widths[1], secants[0], secants[1])
    slopes[-1] = _end_slope(widths[-1], widths[-2], secants[-1], secants[-2])
    for k in range(1, n - 1):
        left, right = secants[k - 1], secants[k]
        slopes[k] = 0.0 if left * right <= 0 else (left + right) / 2
    for k in range(n - 1):
        secant = secants[k]
        if secant == 0:
            # A flat segment stays flat; lowering a slope never breaks a neighbour's bound.
            slopes[k] = slopes[k + 1] = 0.0
            continue
        a, b = slopes[k] / secant, slopes[k + 1] / secant
        norm = a * a + b * b
        if norm > 9:
            tau = 3 / math.sqrt(norm)
            slopes[k] = tau * a * secant
            slopes[k + 1] = tau * b * secant
    return tuple(slopes)


def _end_slope(width: float, next_width: float, secant: float, next_secant: float) -> float:
    """PCHIP's one-sided three-point slope at an end knot, kept shape-preserving."""
    slope = ((2 * width + next_width) * secant - width * next_secant) / (width + next_width)
    if secant <= 0 or slope <= 0:
        return 0.0
    if next_secant <= 0 and slope > 3 * secant:
        return 3 * secant
    return slope


def _hermite(
    width: float, y0: float, y1: float, m0: float, m1: float
) -> tuple[float, float, float, float]:
    """The cubic in t in [0, 1] with the given end values and end slopes (per unit x)."""
    rise = y1 - y0
    return (
        y0,
        width * m0,
        3 * rise - 2 * width * m0 - width * m1,
        -2 * rise + width * m0 + width * m1,
    )


def _cubic(c: tuple[float, float, float, float], t: float) -> float:
    return c[0] + t * (c[1] + t * (c[2] + t * c[3]))


def _cubic_slope(c: tuple[float, float, float, float], t: float) -> float:
    return c[1] + t * (2 * c[2] + t * 3 * c[3])


def _solve(c: tuple[float, float, float, float], y: float, guess: float, low: float) -> float:
    """The t in [low, 1] where the non-decreasing cubic reaches `y`: Newton inside a bracket."""
    c0, c1, c2, c3 = c
    lo, hi = low, 1.0
    t = min(hi, max(lo, guess))
    tolerance = _SOLVE_TOLERANCE * max(abs(c0), abs(c0 + c1 + c2 + c3), 1.0)
    # Inlined polynomial arithmetic: this loop runs for every simulated arrival.
    for _ in range(_SOLVE_MAX_STEPS):
        gap = c0 + t * (c1 + t * (c2 + t * c3)) - y
        if abs(gap) <= tolerance or hi - lo <= _SOLVE_TOLERANCE:
            break
        if gap > 0:
            hi = t
        else:
            lo = t
        slope = c1 + t * (2 * c2 + t * 3 * c3)
        step = t - gap / slope if slope > 0 else lo
        # Newton where it stays inside the bracket, bisection where it would not (or stalls).
        t = step if lo < step < hi else (lo + hi) / 2
    return t


def sample_segment(
    curve: MonotoneCurve, segment: int, count: int, rng: random.Random
) -> list[float]:
    """`count` sorted times in (x_k, x_{k+1}], drawn along the curve restricted to that segment."""
    if count < 0:
        raise ValueError("count cannot be negative")
    if count == 0:
        return []
    x0, x1 = curve.xs[segment], curve.xs[segment + 1]
    y0, y1 = curve.ys[segment], curve.ys[segment + 1]
    # 1 - random() is in (0, 1]: the draws land in (y0, y1], never on the segment's start.
    fractions = sorted(1.0 - rng.random() for _ in range(count))
    if y1 <= y0:
        # A flat piece has no density to follow; spread evenly in time instead.
        return [_inside(x0 + f * (x1 - x0), x0, x1) for f in fractions]
    coefficients = curve.coefficients[segment]
    times: list[float] = []
    t = fractions[0]
    low = 0.0
    for f in fractions:
        # Targets rise, so the previous solution brackets the next from below and, the draws
        # being close together, is a good first guess for it.
        t = _solve(coefficients, y0 + f * (y1 - y0), t, low)
        low = t
        times.append(_inside(x0 + t * (x1 - x0), x0, x1))
    return times


def _inside(x: float, x0: float, x1: float) -> float:
    """`x` kept in (x0, x1], so it counts in this segment and not the one before."""
    if x <= x0:
        return min(x1, math.nextafter(x0, math.inf))
    return min(x, x1)


def segment_counts(milestones: Sequence[Milestone]) -> list[int]:
    """How many arrivals fall between consecutive milestones (from 0 at opening)."""
    previous = 0
    counts: list[int] = []
    for m in milestones:
        counts.append(m.orders - previous)
        previous = m.orders
    return counts


def draw_arrivals(milestones: Sequence[Milestone], rng: random.Random) -> list[float]:
    """Sorted arrival times in seconds after opening, exactly matching every milestone count."""
    return draw_lock_times(milestones, rng)


def draw_lock_times(
    milestones: Sequence[Milestone],
    rng: random.Random,
    *,
    counts: Sequence[int] | None = None,
) -> list[float]:
    """Sorted times along the milestones' curve: `counts[k]` in segment k (default: the rises)."""
    _check_milestones(milestones)
    wanted = segment_counts(milestones) if counts is None else list(counts)
    if len(wanted) != len(milestones):
        raise ValueError("counts needs one entry per milestone")
    curve = milestone_curve(milestones)
    times: list[float] = []
    for segment, count in enumerate(wanted):
        times.extend(sample_segment(curve, segment, count, rng))
    return times


def _check_milestones(milestones: Sequence[Milestone]) -> None:
    for m in milestones:
        if not isinstance(m.orders, int) or m.orders < 0:
            raise ValueError(f"milestone counts must be whole and non-negative, got {m.orders!r}")
    _check_points([(0.0, 0.0), *((m.after_seconds, float(m.orders)) for m in milestones)])


def _check_points(points: Sequence[tuple[float, float]]) -> None:
    if not points:
        raise ValueError("a curve needs at least one point")
    if not all(math.isfinite(x) and math.isfinite(y) for x, y in points):
        raise ValueError("curve points must be finite")
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x1 <= x0:
            raise ValueError(f"curve points must be strictly increasing in x ({x1} after {x0})")
        if y1 < y0:
            raise ValueError(f"a cumulative curve cannot go down ({y1} after {y0})")
