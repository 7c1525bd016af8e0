"""A replay's delivery quotes beside the published ones.

A scenario with a production plan and a `quotes_on` day asks the replayed launch, once
its orders are in, what a new order placed that day would be promised
(`GET .../delivery?at=`), and sets each variant's weeks beside the `lead_weeks` reported
for it. Both are the earliest and latest week after placement; a quote within
QUOTE_TOLERANCE_WEEKS of the published earliest week holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from launchday.sim.scenario import Scenario

QUOTE_TOLERANCE_WEEKS: Final = 2


@dataclass(frozen=True, slots=True)
class QuoteCheck:
    sku: str
    published: tuple[int, int]
    quoted: tuple[int, int] | None  # None: beyond the plan's horizon

    @property
    def difference(self) -> int | None:
        return None if self.quoted is None else self.quoted[0] - self.published[0]

    @property
    def within_tolerance(self) -> bool:
        return self.difference is not None and abs(self.difference) <= QUOTE_TOLERANCE_WEEKS


def quote_checks(scenario: Scenario, answer: dict[str, Any]) -> list[QuoteCheck]:
    """Each variant with published `lead_weeks` beside its quote in a `GET .../delivery`
    answer."""
    quoted = {v["sku"]: v["estimate"] for v in answer["variants"]}
    checks = []
    for variant in scenario.variants:
        if variant.lead_weeks is None or variant.sku not in quoted:
            continue
        weeks = quoted[variant.sku].get("weeks")
        said = None if weeks is None else (int(weeks[0]), int(weeks[1]))
        checks.append(QuoteCheck(variant.sku, variant.lead_weeks, said))
    return checks
