"""The live feed behind the dashboard: one publisher per launch, shared by every viewer.

A publisher starts with its launch's first viewer and stops when the last one leaves.
Once a second it reads

- the orders placed since its previous tick, through the (launch_id, placed_at_us)
  index, grouped by second after opening (`NEW_ORDERS_SQL`), which extend the curve
  and the buyer composition held in memory (`LiveSeries`);
- the variant counters (`Reader.variant_counts`: one small row per variant);
- the waiting room's figures, when the launch has one;
- every ten seconds, the number of registrations of interest;

and sends the same encoded event to every viewer. So the database work per second
does not grow with the number of viewers nor with the number of orders already taken:
it is proportional to the orders of the last second. A publisher that stops keeps its
curve, and resumes from where it was when someone watches again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

import msgspec

from launchday.analytics.report import US, ProfileTally, share
from launchday.domain.admission import QueueSnapshot
from launchday.domain.clock import rfc3339, to_micros
from launchday.domain.quota import available
from launchday.services import LaunchService, LaunchState, VariantTally
from launchday.store.ports import Store
from launchday.store.sql import Connection, ReadConnection, read_connection
from launchday.web.series import LiveSeries, SeriesView, rate_now, tallies

log = logging.getLogger("launchday.web")

TICK_SECONDS = 1.0
# Registrations of interest come before the launch, not during it: counted this often.
INTEREST_EVERY_SECONDS = 10.0

# The orders placed after `:after` (launch time, microseconds), by right-closed second
# after opening, with the answers of their buyers: the order's own, else (field by
# field) the customer's registration of interest, as the report counts them.
# `orders_by_launch_time (launch_id, placed_at_us)` bounds the read to the new orders;
# each row then costs one lookup in `interest` by its primary key. The same SQL runs on
# SQLite and PostgreSQL (`launchday.store.sql`). PostgreSQL plans it that way for a
# few hundred new orders; for the thousands a second of a launch's first minute it
# hashes the new orders and reads the registrations once instead, which it finds
# quicker than as many lookups (about 30 ms a tick for 6,000 orders against 300,000
# registrations, either way).
_BUYER = "coalesce(o.{column}, i.{column})"
NEW_ORDERS_SQL = f"""
    SELECT (o.placed_at_us - :opens + {US - 1}) / {US} AS bucket,
           count(*),
           count({_BUYER.format(column="first_car_with_brand")}),
           count(*) FILTER (WHERE {_BUYER.format(column="first_car_with_brand")} = 1),
           count({_BUYER.format(column="new_to_brand")}),
           count(*) FILTER (WHERE {_BUYER.format(column="new_to_brand")} = 1),
           count({_BUYER.format(column="phone")}),
           count(*) FILTER (WHERE {_BUYER.format(column="phone")} = 'ios'),
           count(i.customer)
    FROM orders o
    LEFT JOIN interest i ON i.launch_id = o.launch_id AND i.customer = o.customer
    WHERE o.launch_id = :launch AND o.placed_at_us > :after
    GROUP BY bucket
"""


def read_new_orders(
    conn: Connection | ReadConnection, slug: str, opens_us: int, after_us: int
) -> list[tuple[int, ProfileTally]]:
    """The orders of launch `slug` placed after `after_us`, by second bucket."""
    db = read_connection(conn)
    row = db.one("SELECT id FROM launches WHERE slug = :slug", {"slug": slug})
    if row is None:
        return []
    rows = db.all(NEW_ORDERS_SQL, {"opens": opens_us, "launch": row[0], "after": after_us})
    return tallies(rows)


def read_interest_count(conn: Connection | ReadConnection, slug: str) -> int:
    """How many customers registered interest in launch `slug`."""
    row = read_connection(conn).first(
        "SELECT count(*) FROM interest"
        " WHERE launch_id = (SELECT id FROM launches WHERE slug = :slug)",
        {"slug": slug},
    )
    return int(row[0])


# --- the event, as JSON ----------------------------------------------------------------


_OUT = {"frozen": True, "forbid_unknown_fields": True}


class OrdersLive(msgspec.Struct, **_OUT):
    placed: int  # every order taken, cancelled ones included: the big counter
    live: int  # reserved or locked
    cancelled: int


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
        orders=OrdersLive(placed=placed, live=placed - cancelled, cancelled=cancelled),
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
    )


def sse(data: bytes) -> bytes:
    """One server-sent event carrying `data` (compact JSON: a single line)."""
    return b"data: " + data + b"\n\n"


# --- the publisher ---------------------------------------------------------------------


class LaunchFeed:
    """One launch's publisher: ticks while anyone watches and fans each event out."""

    def __init__(
        self,
        slug: str,
        service: LaunchService,
        store: Store,
        interval: float = TICK_SECONDS,
    ) -> None:
        self.slug = slug
        self.service = service
        self.store = store
        self.interval = interval
        launch = service.launch(slug)
        self.series = LiveSeries(to_micros(launch.opens_at))
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

    async def tick(self) -> bytes:
        """Read what changed since the last tick; return the event for every viewer."""
        async with self._ticking:
            return await self._tick()

    async def _tick(self) -> bytes:
        launch = self.service.launch(self.slug)
        opens_us = self.series.opens_us
        after_us = self.series.read_after_us()
        loop = asyncio.get_running_loop()
        recount = self._interest is None or loop.time() >= self._interest_due

        def read(conn: Connection) -> tuple[list[tuple[int, ProfileTally]], int | None]:
            db = ReadConnection(conn)
            rows = read_new_orders(db, self.slug, opens_us, after_us)
            return rows, read_interest_count(db, self.slug) if recount else None

        rows, interest = await self.store.read_in_thread(read)
        self.series.apply(rows)
        if interest is not None:
            self._interest, self._interest_due = interest, loop.time() + INTEREST_EVERY_SECONDS
        # The counters after the orders, so the big counter is never behind the curve.
        # They are what `LaunchService.launch_state` reads, less its count of interest,
        # which is a range count over every registration (300,000 for the YU7): that
        # one is taken off the event loop above, every INTEREST_EVERY_SECONDS.
        now = self.service.clock()
        counts = self.store.reader.variant_counts(self.slug)
        state = LaunchState(
            launch=launch,
            at=launch.clock(now),
            is_open=now >= launch.opens_at,
            variants={sku: VariantTally(*pair) for sku, pair in counts.items()},
            interest=self._interest or 0,
        )
        self.ticks += 1
        event = live_event(state, self.series, self.service.queue_snapshot(self.slug), self.ticks)
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

    def __init__(
        self, service: LaunchService, store: Store, interval: float = TICK_SECONDS
    ) -> None:
        self.service = service
        self.store = store
        self.interval = interval
        self._feeds: dict[str, LaunchFeed] = {}

    def feed(self, slug: str) -> LaunchFeed:
        """The launch's feed (NotFound for an unknown launch)."""
        found = self._feeds.get(slug)
        if found is None:
            found = self._feeds[slug] = LaunchFeed(slug, self.service, self.store, self.interval)
        return found
