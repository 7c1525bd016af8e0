"""The dashboard's production view: the part of the live event that a production plan
adds, and when it is worked out.

A launch without a plan costs its ticks nothing here: `Deliveries.planless` answers from
memory, and the plan itself is read at most every few seconds (`Deliveries.plan`, as
each order does). With a plan, the publisher holds

- the backlog by build week and variant against the lines' capacity
  (`launchday.analytics.backlog`), and what a new order of each variant would be
  promised now, both worked out every QUOTES_EVERY_SECONDS of real time (and at once
  when the plan changes): each needs the schedule of the whole queue, which during the
  rush is scheduled again whenever it is asked for;
- the quoted earliest week of each variant over the launch, one sample per refresh,
  in memory like the order curve;
- the suppliers ranked by the delay their loss would cause, in a task of its own every
  RISKS_EVERY_SECONDS after the last one ended: it schedules the queue once per supplier,
  so the ticks go on with the last ranking while it runs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from launchday.analytics.backlog import Backlog, backlog
from launchday.domain.clock import rfc3339
from launchday.domain.delivery_promise import Promise
from launchday.domain.errors import NotFound
from launchday.domain.launch import Launch
from launchday.domain.production_plan import ProductionPlan
from launchday.services import Services
from launchday.services.supply import OUTAGE_WEEKS, SupplyRisk

log = logging.getLogger("launchday.web")

QUOTES_EVERY_SECONDS = 10.0
RISKS_EVERY_SECONDS = 30.0
RISK_ROWS = 8
# Samples of the quoted weeks kept: runs of equal samples keep only their ends, so this
# is reached only by a launch whose quotes change this often; then every other is dropped.
LEAD_POINTS = 2000

_OUT = {"frozen": True, "forbid_unknown_fields": True}


class BacklogLive(msgspec.Struct, **_OUT):
    """Queued cars per variant due in each week from `first_week`, the current plan week
    (`orders[v][k]`: variant `skus[v]`, week `first_week + k`, starting on
    `week_starts[k]`), those due later, and the cars all lines can build each week."""

    first_week: int
    week_starts: list[str]
    skus: list[str]
    orders: list[list[int]]
    later: list[int]
    capacity: list[int]
    queued: int


class QuoteLive(msgspec.Struct, **_OUT):
    """What a new order of a variant would be promised now: built in `build_week`,
    delivered `weeks` weeks after ordering (earliest, latest), or None past the horizon."""

    sku: str
    build_week: int | None
    weeks: list[int] | None
    first_day: str | None
    last_day: str | None


class LeadTimesLive(msgspec.Struct, **_OUT):
    """The quoted earliest week of each variant over the launch: `weeks[v][i]` for
    `skus[v]` at `elapsed_seconds[i]` of launch time after opening (None: no car in the
    horizon, or the variant not quoted then)."""

    skus: list[str]
    elapsed_seconds: list[float]
    weeks: list[list[int | None]]


class SupplierRiskLive(msgspec.Struct, **_OUT):
    supplier: str
    components: list[str]
    buyer_weeks: int
    orders_delayed: int
    never_built: int
    sole_source_of: list[str]  # the components no one else supplies


class RiskLive(msgspec.Struct, **_OUT):
    """The costliest supplier losses of `outage_weeks` from now, at most RISK_ROWS of
    the `ranked` suppliers, as of `as_of` (launch time)."""

    outage_weeks: int
    as_of: str
    ranked: int
    suppliers: list[SupplierRiskLive]
    single_sourced: list[str]


class ProductionLive(msgspec.Struct, **_OUT):
    """The production view of `LiveEvent`; `risk` None until the first ranking is done."""

    backlog: BacklogLive
    quotes: list[QuoteLive]
    lead_times: LeadTimesLive
    risk: RiskLive | None


# --- from the services' values to the wire ----------------------------------------------


def backlog_live(found: Backlog, plan: ProductionPlan, launch: Launch) -> BacklogLive:
    """The backlog with its variants in the launch's order."""
    rows = [found.skus.index(v.sku) for v in launch.variants if v.sku in found.skus]
    weeks = range(found.start, found.start + found.weeks)
    return BacklogLive(
        first_week=found.start,
        week_starts=[plan.week_start(week).isoformat() for week in weeks],
        skus=[found.skus[row] for row in rows],
        orders=[found.orders[row, :-1].tolist() for row in rows],
        later=[int(found.later()[row]) for row in rows],
        capacity=found.capacity.tolist(),
        queued=int(found.orders.sum()),
    )


def quote_live(sku: str, promise: Promise) -> QuoteLive:
    return QuoteLive(
        sku=sku,
        build_week=promise.build_week,
        weeks=None if promise.weeks is None else list(promise.weeks),
        first_day=None if promise.first_day is None else promise.first_day.isoformat(),
        last_day=None if promise.last_day is None else promise.last_day.isoformat(),
    )


def risk_live(found: SupplyRisk, as_of: datetime, outage_weeks: int) -> RiskLive:
    return RiskLive(
        outage_weeks=outage_weeks,
        as_of=rfc3339(as_of),
        ranked=len(found.suppliers),
        suppliers=[
            SupplierRiskLive(
                supplier=r.supplier,
                components=list(r.components),
                buyer_weeks=r.buyer_weeks,
                orders_delayed=r.orders_delayed,
                never_built=r.never_built,
                sole_source_of=list(r.sole_source_of),
            )
            for r in found.suppliers[:RISK_ROWS]
        ],
        single_sourced=list(found.single_sourced),
    )


# --- the quoted weeks over the launch ---------------------------------------------------


@dataclass(slots=True)
class LeadSeries:
    """Samples of each variant's quoted earliest week, kept in memory for the feed."""

    limit: int = LEAD_POINTS
    points: list[tuple[float, dict[str, int | None]]] = field(default_factory=list)

    def add(self, elapsed_seconds: float, weeks: dict[str, int | None]) -> None:
        """One sample. The middle of three equal samples says nothing a line between its
        neighbours does not: the newest of a run replaces the one before it."""
        if len(self.points) >= 2 and self.points[-1][1] == weeks == self.points[-2][1]:
            self.points[-1] = (elapsed_seconds, weeks)
            return
        self.points.append((elapsed_seconds, weeks))
        if len(self.points) > self.limit:
            self.points = self.points[:-1:2] + self.points[-1:]

    def live(self, skus: list[str]) -> LeadTimesLive:
        return LeadTimesLive(
            skus=skus,
            elapsed_seconds=[at for at, _ in self.points],
            weeks=[[weeks.get(sku) for _, weeks in self.points] for sku in skus],
        )


def earliest_weeks(quotes: dict[str, Promise]) -> dict[str, int | None]:
    return {sku: None if p.weeks is None else p.weeks[0] for sku, p in quotes.items()}


# --- the publisher's part ---------------------------------------------------------------


class ProductionFeed:
    """One launch's production view, refreshed on the publisher's ticks when due."""

    def __init__(self, slug: str, services: Services) -> None:
        self.slug = slug
        self.deliveries = services.deliveries
        self.supply = services.supply
        self.lead = LeadSeries()
        self._plan: ProductionPlan | None = None
        self._backlog: BacklogLive | None = None
        self._quotes: list[QuoteLive] = []
        self._risk: RiskLive | None = None
        self._quotes_due = 0.0
        self._risks_due = 0.0
        self._ranking: asyncio.Task[None] | None = None
        self._ranked_plan: ProductionPlan | None = None  # the plan of the last ranking

    def _current_plan(self) -> ProductionPlan | None:
        if self.deliveries.planless(self.slug):  # from memory: most launches stop here
            return None
        try:
            return self.deliveries.plan(self.slug)
        except NotFound:
            return None

    async def section(self, launch: Launch, at: datetime, now: float) -> ProductionLive | None:
        """The view at launch time `at` and loop time `now`; None without a plan."""
        plan = self._current_plan()
        if plan is None:
            return None
        changed = plan is not self._plan
        if changed or now >= self._quotes_due:
            self._quotes_due = now + QUOTES_EVERY_SECONDS
            try:
                await self._refresh(launch, at)
            except NotFound:
                return None
            except Exception:  # the rest of the dashboard goes on with the last figures
                log.exception("production view of %s: refresh failed", self.slug)
            self._plan = plan
        if self._ranking is None and (plan is not self._ranked_plan or now >= self._risks_due):
            ranking = self._rank(plan, at)
            self._ranking = asyncio.create_task(ranking, name=f"risk-{self.slug}")
        if self._backlog is None:
            return None
        skus = [q.sku for q in self._quotes]
        return ProductionLive(self._backlog, self._quotes, self.lead.live(skus), self._risk)

    async def _refresh(self, launch: Launch, at: datetime) -> None:
        book = await self.deliveries.whole_queue(self.slug)
        self._backlog = backlog_live(backlog(book.schedule), book.schedule.plan, launch)
        _, quotes = await self.deliveries.quotes(self.slug)
        self._quotes = [
            quote_live(v.sku, quotes[v.sku]) for v in launch.variants if v.sku in quotes
        ]
        self.lead.add((at - launch.opens_at).total_seconds(), earliest_weeks(quotes))

    async def _rank(self, plan: ProductionPlan, at: datetime) -> None:
        try:
            found = await self.supply.risks(self.slug, OUTAGE_WEEKS)
            self._risk = risk_live(found, at, OUTAGE_WEEKS)
        except asyncio.CancelledError:
            raise
        except Exception:  # the table keeps the last ranking; the next one may do better
            log.exception("production view of %s: supplier risk failed", self.slug)
        finally:
            # Counted from the end, so a slow ranking never runs back to back; a
            # ranking cancelled by `stop` leaves the one started after it alone.
            if self._ranking is asyncio.current_task():
                self._ranking = None
                self._ranked_plan = plan
                self._risks_due = asyncio.get_running_loop().time() + RISKS_EVERY_SECONDS

    async def ranked(self) -> None:
        """Wait for the ranking under way, if any (its result shows from the next tick)."""
        if self._ranking is not None:
            await asyncio.shield(self._ranking)

    def stop(self) -> None:
        """Nobody watches: a ranking under way is of no use to anyone."""
        if self._ranking is not None:
            self._ranking.cancel()
            self._ranking = None
