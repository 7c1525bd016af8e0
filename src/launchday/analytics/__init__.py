"""The launch report: what was ordered, locked and cancelled, when, by whom, and how
it compares with another launch. `build_report` is the entry point; the wire types
and the rules live in `launchday.analytics.report`.
"""

from launchday.analytics.build import build_report
from launchday.analytics.report import (
    Answered,
    BuyerMix,
    ByStatus,
    Cancellations,
    Comparison,
    InterestMix,
    LockTotals,
    Milestone,
    OrderTotals,
    RatioAt,
    Report,
    Series,
)

__all__ = [
    "Answered",
    "BuyerMix",
    "ByStatus",
    "Cancellations",
    "Comparison",
    "InterestMix",
    "LockTotals",
    "Milestone",
    "OrderTotals",
    "RatioAt",
    "Report",
    "Series",
    "build_report",
]
