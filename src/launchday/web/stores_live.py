"""The dashboard's stores view: orders by channel and the stores selling most, live.

Each tick reads one thing more than the curve: the orders placed since the last tick,
by second after opening, channel and placing store, through the
(launch_id, placed_at_us) index (`launchday.store.reads.live`). Orders count from
placement, cancelled ones included, as on the big counter, so the counts only grow and
are added up in memory; the newest second is read again each tick, for the reason
`launchday.web.series` gives. The brand's stores (their names) and each store's test
drives done change slowly and are not per order: they are read every
STORES_EVERY_SECONDS. A brand without stores has no view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from launchday.analytics.report import US
from launchday.analytics.store_figures import CHANNELS
from launchday.domain.launch import Launch
from launchday.domain.retail_store import RetailStore

STORES_EVERY_SECONDS = 10.0
TOP_STORES = 8

_OUT = {"frozen": True, "forbid_unknown_fields": True}

# (channel, placing store or None): the key orders are counted under.
Origin = tuple[str, str | None]


class StoresLiveReads(Protocol):
    """What the stores view reads, off the event loop (the store's `SnapshotReads`)."""

    def launch_with_id(self, slug: str) -> tuple[int, Launch] | None: ...

    def new_order_origins(
        self, launch_id: int, opens_us: int, after_us: int
    ) -> list[tuple[int, str, str | None, int]]: ...

    def test_drives_done_by_store(self, launch_id: int) -> dict[str, int]: ...

    def retail_stores(self) -> list[RetailStore]: ...


# --- the view, as JSON -------------------------------------------------------------------


class ChannelLive(msgspec.Struct, **_OUT):
    channel: str
    orders: int


class StoreLive(msgspec.Struct, **_OUT):
    """A store: the orders its staff placed, and its test drives done."""

    store: str
    name: str
    city: str
    orders: int
    test_drives_done: int


class StoresLive(msgspec.Struct, **_OUT):
    """Orders by channel (cancelled ones included), and the top of the `ranked` stores
    that placed an order or had a test drive done: by orders, then test drives done."""

    orders: int
    store_orders: int
    channels: list[ChannelLive]
    top: list[StoreLive]
    ranked: int


# --- the counts, tick by tick ------------------------------------------------------------


@dataclass(slots=True)
class OriginCounts:
    """Orders by channel and placing store since opening, from each tick's new orders."""

    opens_us: int
    _closed: dict[Origin, int] = field(default_factory=dict)
    _open: dict[Origin, int] = field(default_factory=dict)  # the newest second, read again
    _first_open: int = 0

    def read_after_us(self) -> int:
        """The exclusive lower bound of the next read: the newest second's start."""
        if self._first_open == 0:
            return self.opens_us - 1
        return self.opens_us + (self._first_open - 1) * US

    def apply(self, rows: Iterable[tuple[int, str, str | None, int]]) -> None:
        """Take a tick's (bucket, channel, store, orders): every order after `read_after_us()`."""
        fresh = [row for row in rows if row[0] >= self._first_open]
        newest = max((row[0] for row in fresh), default=self._first_open)
        self._open = {}
        for bucket, channel, store, n in fresh:
            into = self._closed if bucket < newest else self._open
            into[(channel, store)] = into.get((channel, store), 0) + n
        self._first_open = newest

    def counts(self) -> dict[Origin, int]:
        total = dict(self._closed)
        for key, n in self._open.items():
            total[key] = total.get(key, 0) + n
        return total


def stores_live(
    counts: Mapping[Origin, int], stores: Iterable[RetailStore], done: Mapping[str, int]
) -> StoresLive:
    """The view from the orders by origin, the brand's stores and their test drives done."""
    by_channel: dict[str, int] = {}
    by_store: dict[str, int] = {}
    for (channel, store), n in counts.items():
        by_channel[channel] = by_channel.get(channel, 0) + n
        if store is not None:
            by_store[store] = by_store.get(store, 0) + n
    ranked = [
        StoreLive(s.id, s.name, s.city, by_store.get(s.id, 0), done.get(s.id, 0))
        for s in stores
        if by_store.get(s.id) or done.get(s.id)
    ]
    ranked.sort(key=lambda s: (-s.orders, -s.test_drives_done, s.name, s.store))
    names = [*CHANNELS, *sorted(set(by_channel) - set(CHANNELS))]
    return StoresLive(
        orders=sum(by_channel.values()),
        store_orders=by_channel.get("store", 0),
        channels=[ChannelLive(name, by_channel.get(name, 0)) for name in names],
        top=ranked[:TOP_STORES],
        ranked=len(ranked),
    )


# --- the publisher's part ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoresRead:
    """What one tick read: the new orders' rows, and when due the stores and test drives."""

    launch_id: int | None
    rows: list[tuple[int, str, str | None, int]]
    stores: list[RetailStore] | None = None
    done: dict[str, int] | None = None


class StoresFeed:
    """One launch's stores view, kept up on the publisher's ticks."""

    def __init__(self, slug: str, opens_us: int) -> None:
        self.slug = slug
        self.origins = OriginCounts(opens_us)
        self._launch_id: int | None = None
        self._stores: list[RetailStore] = []
        self._done: dict[str, int] = {}
        self._due = 0.0

    def due(self, now: float) -> bool:
        """Whether this tick reads the stores and their test drives again."""
        return now >= self._due

    def read(self, reads: StoresLiveReads, after_us: int, restock: bool) -> StoresRead:
        """The tick's reads (in the publisher's read thread: this changes nothing)."""
        launch_id = self._launch_id
        if launch_id is None:
            found = reads.launch_with_id(self.slug)
            if found is None:
                return StoresRead(None, [])
            launch_id = found[0]
        stores = reads.retail_stores() if restock else None
        if not (self._stores if stores is None else stores):
            # A brand without stores (most launches): no read of the orders per tick. The
            # counts start from the opening once stores appear.
            return StoresRead(launch_id, [], stores, {} if restock else None)
        rows = reads.new_order_origins(launch_id, self.origins.opens_us, after_us)
        if not restock:
            return StoresRead(launch_id, rows)
        return StoresRead(launch_id, rows, stores, reads.test_drives_done_by_store(launch_id))

    def section(self, found: StoresRead, now: float) -> StoresLive | None:
        """The view after the tick's reads; None while the brand has no stores."""
        if found.launch_id is None:
            return None
        self._launch_id = found.launch_id
        self.origins.apply(found.rows)
        if found.stores is not None and found.done is not None:
            self._stores, self._done = found.stores, found.done
            self._due = now + STORES_EVERY_SECONDS
        if not self._stores:
            return None
        return stores_live(self.origins.counts(), self._stores, self._done)
