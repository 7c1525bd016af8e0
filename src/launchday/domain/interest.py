"""A registration of interest before orders open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from launchday.domain.order import Profile


@dataclass(frozen=True, slots=True)
class Interest:
    """One customer's registration for a launch: the first time and the latest profile."""

    launch: str
    customer: str
    registered_at: datetime
    profile: Profile
