"""The delivery promise in the report: how long buyers of each variant are told to wait,
and how often promises moved, and why.

Pure: the store counts the promises kept (`launchday.store.reads.delivery`); this names
the numbers. The figures are the promises as they stand when the report is made, not as
of the report's launch time: a promise is kept as its latest value only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

_OUT = {"frozen": True, "forbid_unknown_fields": True}


class PromisedWeeks(msgspec.Struct, **_OUT):
    """Orders told their car comes from `weeks` weeks after they ordered."""

    weeks: int
    orders: int


class VariantPromises(msgspec.Struct, **_OUT):
    """The promises to one variant's live orders: how many, how many with no car in the
    plan's horizon, the median and 90th percentile of the first promised week, and the
    whole distribution."""

    sku: str
    orders: int
    beyond_horizon: int
    median_weeks: int | None
    p90_weeks: int | None
    distribution: list[PromisedWeeks]


class MovesByCause(msgspec.Struct, **_OUT):
    cause: str
    moves: int


class DeliveryFigures(msgspec.Struct, **_OUT):
    """Promises per variant, and every move of a week or more told to a buyer."""

    variants: list[VariantPromises]
    moves: int
    moves_by_cause: list[MovesByCause]


def delivery_figures(
    skus: Sequence[str],
    promised: Iterable[tuple[str, int | None, int]],
    moves: Iterable[tuple[str, int]],
) -> DeliveryFigures:
    """From (sku, first promised week or None, orders) and (cause, moves) counts."""
    weeks_by_sku: dict[str, dict[int, int]] = {sku: {} for sku in skus}
    beyond: dict[str, int] = dict.fromkeys(skus, 0)
    for sku, weeks, orders in promised:
        if sku not in weeks_by_sku:
            continue
        if weeks is None:
            beyond[sku] += orders
        else:
            weeks_by_sku[sku][weeks] = weeks_by_sku[sku].get(weeks, 0) + orders
    variants = [
        _variant(sku, weeks_by_sku[sku], beyond[sku])
        for sku in skus
        if weeks_by_sku[sku] or beyond[sku]
    ]
    by_cause = sorted(moves, key=lambda pair: (-pair[1], pair[0]))
    return DeliveryFigures(
        variants,
        sum(count for _, count in by_cause),
        [MovesByCause(cause, count) for cause, count in by_cause],
    )


def _variant(sku: str, counts: dict[int, int], beyond: int) -> VariantPromises:
    distribution = [PromisedWeeks(w, n) for w, n in sorted(counts.items())]
    total = sum(counts.values())
    return VariantPromises(
        sku,
        total + beyond,
        beyond,
        _quantile(distribution, total, 0.5),
        _quantile(distribution, total, 0.9),
        distribution,
    )


def _quantile(distribution: list[PromisedWeeks], total: int, share: float) -> int | None:
    """The smallest week by which at least `share` of the promised orders are told."""
    if total == 0:
        return None
    seen = 0
    for point in distribution:
        seen += point.orders
        if seen >= share * total:
            return point.weeks
    return distribution[-1].weeks
