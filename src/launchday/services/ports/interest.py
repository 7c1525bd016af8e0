"""Registrations of interest: their writes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from launchday.domain.interest import Interest
from launchday.domain.order import Profile


class InterestWrites(Protocol):
    def register_interest(
        self, launch: str, customer: str, at: datetime, profile: Profile
    ) -> tuple[Interest, bool]:
        """Record interest; True if new. A repeat keeps the first time, takes the new profile."""

    def import_interest(self, launch: str, records: list[tuple[str, datetime, Profile]]) -> int:
        """Upsert registrations (customer, time, profile); return how many were new.

        A customer already registered keeps the earlier time and takes the new profile.
        """
