"""The brand's stores: kept, listed for buyers (by region, kind and distance), and
held in memory by every process, read again every STORES_SECONDS (another process may
change them; they change rarely)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime

from launchday.domain.errors import NotFound
from launchday.domain.retail_store import RetailStore, StoreKind, validate_store
from launchday.services.ports.locks import WriteScope
from launchday.services.ports.retail import STORES
from launchday.services.ports.store import Store, WriteTx

STORES_SECONDS = 2.0
EARTH_RADIUS_KM = 6371.0
_SCOPE = WriteScope("", (STORES,))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class RetailStores:
    """Every store of the brand."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._stores: dict[str, RetailStore] = {}
        self._read_at = -math.inf

    async def put(self, retail_store: RetailStore) -> RetailStore:
        """Keep a store (new, or in place of the one with its id)."""
        validate_store(retail_store)

        def save(tx: WriteTx, now: datetime) -> None:
            tx.save_store(retail_store, now)

        await self.store.write(save, _SCOPE)
        self._stores[retail_store.id] = retail_store
        return retail_store

    def all(self) -> dict[str, RetailStore]:
        if time.monotonic() - self._read_at > STORES_SECONDS:
            self._stores = {s.id: s for s in self.store.reads.retail_stores()}
            self._read_at = time.monotonic()
        return self._stores

    def get(self, store_id: str) -> RetailStore:
        """The store, or NotFound."""
        found = self.all().get(store_id)
        if found is None:
            raise NotFound(f"no store {store_id!r}", field="store")
        return found

    def listed(
        self,
        region: str | None = None,
        kind: StoreKind | None = None,
        near: tuple[float, float] | None = None,
        limit: int = 50,
    ) -> list[tuple[RetailStore, float | None]]:
        """Stores of the region and kind, nearest first when `near` is given (with their
        distance in km), else by id."""
        found = [
            s
            for s in self.all().values()
            if (region is None or s.region == region) and (kind is None or s.is_a(kind))
        ]
        if near is None:
            return [(s, None) for s in sorted(found, key=lambda s: s.id)[:limit]]
        lat, lon = near
        ranked = sorted((distance_km(lat, lon, s.lat, s.lon), s.id, s) for s in found)
        return [(s, km) for km, _, s in ranked[:limit]]
