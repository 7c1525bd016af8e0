"""Launches: created by the brand, read by everyone, immutable once created."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from launchday.domain.errors import NotFound
from launchday.domain.launch import Launch
from launchday.services.ports.orders import ORDER_BOOK
from launchday.services.ports.store import Store, WriteScope, WriteTx
from launchday.services.ports.waiting_room import WAITING_ROOM


@dataclass(frozen=True, slots=True)
class VariantTally:
    placed: int
    cancelled: int

    @property
    def live(self) -> int:
        return self.placed - self.cancelled


@dataclass(frozen=True, slots=True)
class LaunchState:
    """A launch with its live counts, as of `now` (real) and `at` (launch time)."""

    launch: Launch
    at: datetime
    is_open: bool
    variants: dict[str, VariantTally]
    interest: int


def new_seed() -> bytes:
    """The secret that orders a waiting room's pre-queue (32 random bytes)."""
    return secrets.token_bytes(32)


class Launches:
    """The launches of one store, cached: a launch never changes once created."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._launches: dict[str, Launch] = {}

    async def create(self, launch: Launch) -> Launch:
        """Store a new launch, and its waiting room if it has one (AlreadyExists if the
        slug is taken)."""
        seed = new_seed() if launch.admission is not None else None

        def create(tx: WriteTx, now: datetime) -> None:
            tx.insert_launch(launch, now)
            if seed is not None:
                tx.create_waiting_room(launch.slug, seed)

        # Both of the new launch's locks: a second creation of the slug waits, then sees it.
        await self.store.write(create, WriteScope(launch.slug, (ORDER_BOOK, WAITING_ROOM)))
        self._launches[launch.slug] = launch
        return launch

    def get(self, slug: str) -> Launch:
        """The launch with this slug, or NotFound."""
        found = self._launches.get(slug)
        if found is None:
            stored = self.store.reads.launch(slug)
            if stored is None:
                raise NotFound(f"no launch {slug!r}", field="slug")
            found = self._launches[slug] = stored
        return found

    def all(self) -> list[Launch]:
        """Every launch, newest first."""
        return [self.get(slug) for slug in self.store.reads.launch_slugs()]

    def state(self, slug: str) -> LaunchState:
        """The launch with its live counts now."""
        launch = self.get(slug)
        now = self.clock()
        counts = self.store.reads.variant_counts(slug)
        return LaunchState(
            launch=launch,
            at=launch.clock(now),
            is_open=now >= launch.opens_at,
            variants={sku: VariantTally(*pair) for sku, pair in counts.items()},
            interest=self.store.reads.interest_count(slug),
        )
