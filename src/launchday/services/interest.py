"""Registrations of interest before orders open, one at a time or imported in bulk."""

from __future__ import annotations

from datetime import datetime

from launchday.domain.interest import Interest
from launchday.domain.order import Profile
from launchday.services.launches import Launches
from launchday.services.ports.interest import InterestWrites
from launchday.services.ports.orders import customer as customer_lock
from launchday.services.ports.store import WriteScope


class InterestRegistry:
    """Who registered interest in which launch, with their profile."""

    def __init__(self, launches: Launches) -> None:
        self.launches = launches
        self.store = launches.store

    async def register(self, slug: str, customer: str, profile: Profile) -> tuple[Interest, bool]:
        """Register the customer's interest (True if new); a repeat updates the profile."""
        launch = self.launches.get(slug)
        launch.check_interest_open(self.launches.clock())

        def register(tx: InterestWrites, now: datetime) -> tuple[Interest, bool]:
            launch.check_interest_open(now)
            return tx.register_interest(slug, customer, launch.clock(now), profile)

        return await self.store.write(register, WriteScope(slug, (customer_lock(customer),)))

    async def import_all(self, slug: str, records: list[tuple[str, datetime, Profile]]) -> int:
        """Bulk registrations with their own times (launch time); returns how many were new."""
        self.launches.get(slug)

        def import_all(tx: InterestWrites, now: datetime) -> int:
            return tx.import_interest(slug, records)

        # No lock: the import is one upsert, whose row locks are taken in customer order.
        return await self.store.write(import_all, WriteScope(slug))
