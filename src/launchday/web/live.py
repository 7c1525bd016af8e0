"""The live feed behind the dashboard: one publisher per launch, shared by every viewer.

A publisher starts with its launch's first viewer and stops when the last one leaves.
Once a second it reads

- the orders placed since its previous tick, through the (launch_id, placed_at_us)
  index, grouped by second after opening (`launchday.store.reads.live`), which extend
  the curve and the buyer composition held in memory (`LiveSeries`);
- the variant counters (one small row per variant);
- the waiting room's figures, when the launch has one;
- every ten seconds, the number of registrations of interest;
- for a launch with a production plan, the production view when due
  (`launchday.web.production_live`: nothing at all for a launch without one);
- the stores view's new orders by channel and store, and every few seconds the
  brand's stores and their test drives done (`launchday.web.stores_live`);

and sends the same encoded event to every viewer. So the database work per second
does not grow with the number of viewers nor with the number of orders already taken:
it is proportional to the orders of the last second. A publisher that stops keeps its
curve, and resumes from where it was when someone watches again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any, Protocol

import msgspec

from launchday.analytics.report import US, ProfileTally, share
from launchday.domain.admission import QueueSnapshot
from launchday.domain.clock import rfc3339, to_micros
from launchday.domain.launch import Launch
from launchday.domain.quota import available
from launchday.services import Services
from launchday.services.launches import LaunchState, VariantTally
from launchday.web.production_live import ProductionFeed, ProductionLive
from launchday.web.series import LiveSeries, SeriesView, rate_now, tallies
from launchday.web.stores_live import StoresFeed, StoresLive, StoresLiveReads, StoresRead

log = logging.getLogger("launchday.web")

TICK_SECONDS = 1.0
# Registrations of interest come before the launch, not during it: counted this often.
INTEREST_EVERY_SECONDS = 10.0


class LiveReads(StoresLiveReads, Protocol):
    """What a tick reads, off the event loop (the store's `SnapshotReads`)."""

    def launch_with_id(self, slug: str) -> tuple[int, Launch] | None: ...

    def new_orders(self, launch_id: int, opens_us: int, after_us: int) -> list[tuple[Any, ...]]: ...

    def interest_count(self, launch: str) -> int: ...


def read_new_orders(
    reads: LiveReads, slug: str, opens_us: int, after_us: int
) -> list[tuple[int, ProfileTally]]:
    """The orders of launch `slug` placed after `after_us`, by second bucket."""
    found = reads.launch_with_id(slug)
    if found is None:
        return []
    return tallies(reads.new_orders(found[0], opens_us, after_us))


# --- the event, as JSON ----------------------------------------------------------------


_OUT = {"frozen": True, "forbid_unknown_fields": True}


class OrdersLive(msgspec.Struct, omit_defaults=True, **_OUT):
    placed: int  # every order taken, cancelled ones included: the big counter
    live: int  # holding a unit: pending payment, reserved or locked
    cancelled: int  # given back: cancelled, or expired unpaid
    # With deposits paid through a provider: the orders paid (the big counter then) and
    # those expired unpaid; left out without payments.
    paid: int | None = None
    expired: int | None = None


class VariantLive(msgspec.Struct, **_OUT):
    sku: str
    name: str
    stock: int | None  # None: built to order
    placed: int
    live: int
    cancelled: int
    available: int | None
    sold_out: bool


class RateLive(msgspec.Struct, **_OUT):
    """Orders per second of launch time: the last complete second, and the best so far."""

    now: int
    peak: int
    peak_after_seconds: int | None


class SeriesLive(msgspec.Struct, **_OUT):
    """Orders per step after opening; `orders[k]` counts those placed in `(k-1, k]` steps."""

    step_seconds: int
    orders: list[int]


class QueueLive(msgspec.Struct, **_OUT):
    """The waiting room: places given out and reached, and lapsed buyers who came back."""

    joined: int
    admitted: int
    waiting: int
    rate_per_second: float
    paused: bool
    rejoined_kept_place: int
    rejoined_back: int


class CompositionLive(msgspec.Struct, **_OUT):
    """Who the buyers are: shares over the orders that answered each question."""

    orders: int
    registered: float | None  # share of orders whose customer registered interest
    first_car_with_brand: float | None
    new_to_brand: float | None
    apple_users: float | None


class LiveEvent(msgspec.Struct, **_OUT):
    """One `data:` event of `GET /launches/{slug}/live`."""

    slug: str
    name: str
    currency: str
    opens_at: str
    launch_time: str  # the launch's clock (rehearsals run it faster than real time)
    time_scale: float
    opened: bool
    elapsed_seconds: float  # launch time since opening; negative before
    orders: OrdersLive
    variants: list[VariantLive]
    rate: RateLive
    series: SeriesLive
    queue: QueueLive | None
    composition: CompositionLive
    interest: int  # registrations of interest
    tick: int
    production: ProductionLive | None = None  # None: the launch has no production plan
    stores: StoresLive | None = None  # None: the brand has no stores


_encode = msgspec.json.Encoder().encode


def variants_live(state: LaunchState) -> list[VariantLive]:
    out = []
    for variant in state.launch.variants:
        tally = state.variants.get(variant.sku, VariantTally(0, 0))
        left = available(variant.stock, tally.live)
        out.append(
            VariantLive(
                sku=variant.sku,
                name=variant.name,
                stock=variant.stock,
                placed=tally.placed,
                live=tally.live,
                cancelled=tally.cancelled,
                available=left,
                sold_out=left == 0,
            )
        )
    return out


def live_event(
    state: LaunchState,
    series: LiveSeries,
    queue: QueueSnapshot | None,
    tick: int,
    production: ProductionLive | None = None,
    payments: tuple[int, int] | None = None,
    stores: StoresLive | None = None,
) -> LiveEvent:
    """The dashboard's view of a launch at one tick."""
    launch = state.launch
    opens_us = to_micros(launch.opens_at)
    elapsed_us = to_micros(state.at) - opens_us
    variants = variants_live(state)
    placed = sum(v.placed for v in variants)
    cancelled = sum(v.cancelled for v in variants)
    view: SeriesView = series.view(elapsed_us)
    mix = series.mix()
    return LiveEvent(
        slug=launch.slug,
        name=launch.name,
        currency=launch.currency,
        opens_at=rfc3339(launch.opens_at),
        launch_time=rfc3339(state.at),
        time_scale=launch.time_scale,
        opened=state.is_open,
        elapsed_seconds=elapsed_us / US,
        orders=OrdersLive(
            placed=placed,
            live=placed - cancelled,
            cancelled=cancelled,
            paid=None if payments is None else payments[0],
            expired=None if payments is None else payments[1],
        ),
        variants=variants,
        rate=RateLive(
            now=rate_now(series, elapsed_us),
            peak=series.peak,
            peak_after_seconds=series.peak_bucket,
        ),
        series=SeriesLive(view.step_seconds, view.orders),
        queue=None
        if queue is None
        else QueueLive(
            joined=queue.joined,
            admitted=queue.admitted,
            waiting=queue.waiting,
            rate_per_second=queue.rate_per_second,
            paused=queue.paused,
            rejoined_kept_place=queue.rejoined_kept_place,
            rejoined_back=queue.rejoined_back,
        ),
        composition=CompositionLive(
            orders=mix.count,
            registered=share(mix.registered, mix.count),
            first_car_with_brand=share(mix.first_car_yes, mix.first_car_answered),
            new_to_brand=share(mix.new_to_brand_yes, mix.new_to_brand_answered),
            apple_users=share(mix.ios, mix.phone_answered),
        ),
        interest=state.interest,
        tick=tick,
        production=production,
        stores=stores,
    )


def sse(data: bytes) -> bytes:
    """One server-sent event carrying `data` (compact JSON: a single line)."""
    return b"data: " + data + b"\n\n"


# --- the publisher ---------------------------------------------------------------------


class LaunchFeed:
    """One launch's publisher: ticks while anyone watches and fans each event out."""

    def __init__(self, slug: str, services: Services, interval: float = TICK_SECONDS) -> None:
        self.slug = slug
        self.services = services
        self.store = services.store
        self.interval = interval
        launch = services.launches.get(slug)
        self.series = LiveSeries(to_micros(launch.opens_at))
        self.production = ProductionFeed(slug, services)
        self.stores = StoresFeed(slug, to_micros(launch.opens_at))
        self.ticks = 0
        self._viewers: set[asyncio.Queue[bytes]] = set()
        self._task: asyncio.Task[None] | None = None
        self._latest: bytes | None = None
        self._interest: int | None = None
        self._interest_due = 0.0
        # A tick reads from where the last one ended: two at once would both start there.
        self._ticking = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    async def watch(self) -> AsyncGenerator[bytes, None]:
        """The events for one viewer: the latest at once, then one per tick, until closed."""
        # One slot: a viewer too slow to take an event gets the newest one, not a backlog.
        inbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        self._viewers.add(inbox)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"live-{self.slug}")
        try:
            if self._latest is not None:
                yield self._latest
            while True:
                yield await inbox.get()
        finally:
            self._viewers.discard(inbox)
            if not self._viewers:
                self._stop()

    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        # Nobody sees the last event again: a new first viewer waits for a fresh tick.
        self._latest = None
        self.production.stop()

    async def tick(self) -> bytes:
        """Read what changed since the last tick; return the event for every viewer."""
        async with self._ticking:
            return await self._tick()

    async def _tick(self) -> bytes:
        launch = self.services.launches.get(self.slug)
        opens_us = self.series.opens_us
        after_us = self.series.read_after_us()
        loop = asyncio.get_running_loop()
        recount = self._interest is None or loop.time() >= self._interest_due
        stores_after_us = self.stores.origins.read_after_us()
        restock = self.stores.due(loop.time())

        def read(
            reads: LiveReads,
        ) -> tuple[list[tuple[int, ProfileTally]], int | None, StoresRead]:
            rows = read_new_orders(reads, self.slug, opens_us, after_us)
            in_stores = self.stores.read(reads, stores_after_us, restock)
            return rows, reads.interest_count(self.slug) if recount else None, in_stores

        # On the primary, not a report's standby: the counter must never step back or
        # stall behind a 201 the buyer already saw, and a standby's lag would do both.
        rows, interest, in_stores = await self.store.read_in_thread(read)
        self.series.apply(rows)
        stores = self.stores.section(in_stores, loop.time())
        if interest is not None:
            self._interest, self._interest_due = interest, loop.time() + INTEREST_EVERY_SECONDS
        production = await self.production.section(
            launch, launch.clock(self.services.clock()), loop.time()
        )
        # The counters after the orders, so the big counter is never behind the curve.
        # They are what `Launches.state` reads, less its count of interest, which is a
        # range count over every registration (300,000 for the YU7): that one is taken
        # off the event loop above, every INTEREST_EVERY_SECONDS.
        now = self.services.clock()
        counts = self.store.reads.variant_counts(self.slug)
        state = LaunchState(
            launch=launch,
            at=launch.clock(now),
            is_open=now >= launch.opens_at,
            variants={sku: VariantTally(*pair) for sku, pair in counts.items()},
            interest=self._interest or 0,
        )
        self.ticks += 1
        queue = self.services.waiting_rooms.snapshot(self.slug)
        payments = None
        if launch.payments is not None:
            payments = self.store.reads.payment_counts(self.slug)
        event = live_event(state, self.series, queue, self.ticks, production, payments, stores)
        return sse(_encode(event))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            try:
                event = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed read must not end the feed: try again next tick
                log.exception("live feed of %s: tick failed", self.slug)
            else:
                self._publish(event)
            due += self.interval
            # After a slow tick, start again from now rather than rush to catch up.
            due = max(due, loop.time())
            await asyncio.sleep(due - loop.time())

    def _publish(self, event: bytes) -> None:
        self._latest = event
        for inbox in self._viewers:
            if inbox.full():
                inbox.get_nowait()
            inbox.put_nowait(event)


class LiveHub:
    """The feeds of all launches being watched, made on first use and kept."""

    def __init__(self, services: Services, interval: float = TICK_SECONDS) -> None:
        self.services = services
        self.interval = interval
        self._feeds: dict[str, LaunchFeed] = {}

    def feed(self, slug: str) -> LaunchFeed:
        """The launch's feed (NotFound for an unknown launch)."""
        found = self._feeds.get(slug)
        if found is None:
            found = self._feeds[slug] = LaunchFeed(slug, self.services, self.interval)
        return found
