"""Time the delivery promise over a queue of 1,000,000 orders (median of 3).

    .venv/bin/python bench/delivery_bench.py [--orders N] [--profile]

The plan looks like the YU7's: three trims on two lines (3,000 then 5,000 cars a week on
one, a second line from week 10), the Standard and Pro on an LFP pack from two suppliers,
the Max on a ternary pack from one. Orders lock over the night and the week after (a
7-day window), as the seeds' launch did; a third of them lock early. Timed, each in
process and without the database:

  schedule     the whole queue's build weeks (what a re-promise computes)
  re-promise   after a supply change: schedule again, compare every promise with the
               one kept, and list the promises to store and the moves to tell
  what-if      a supplier's 6-week outage: both schedules and the impact per variant
  risk         every supplier's loss ranked (one schedule per supplier, plus one)
  tail join    one new order promised at the back of the queue (per order)

`--profile` prints cProfile's top functions of one re-promise.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np

from launchday.domain.build_queue import BuildQueue, micros
from launchday.domain.build_schedule import schedule
from launchday.domain.production_plan import Component, Line, ProductionPlan, Rate, Supplier
from launchday.domain.queue_tail import QueueTail
from launchday.domain.what_if import SupplierOutage, supplier_risks, what_if
from launchday.services.promise_book import Changes, PromiseBook, changes

NIGHT = datetime(2025, 6, 26, 14, 0, tzinfo=UTC)


def yu7_plan(fudi_per_week: int = 2_500) -> ProductionPlan:
    return ProductionPlan(
        weeks_start=date(2025, 6, 30),
        timezone="Asia/Shanghai",
        delivery_lag_weeks=2,
        window_weeks=3,
        lines=(
            Line("yz-1", ("YU7-STD", "YU7-PRO", "YU7-MAX"), (Rate(0, 3_000), Rate(8, 5_000))),
            Line("yz-2", ("YU7-STD", "YU7-PRO"), (Rate(10, 2_000),)),
        ),
        components=(
            Component(
                "pack-lfp", (("YU7-STD", 1), ("YU7-PRO", 1)), 5_000,
                (
                    Supplier("fudi", (Rate(0, fudi_per_week),)),
                    Supplier("gotion", (Rate(4, 1_500),)),
                ),
            ),
            Component(
                "pack-ncm", (("YU7-MAX", 1),), 2_000, (Supplier("catl", (Rate(0, 2_000),)),),
            ),
        ),
    )  # fmt: skip


def yu7_queue(orders: int) -> BuildQueue:
    rng = np.random.default_rng(7)
    sku = rng.choice(3, size=orders, p=[0.3, 0.3, 0.4]).astype(np.int64)
    night = micros(NIGHT)
    placed = night + np.sort(rng.exponential(3_600 * 6, size=orders) * 1_000_000).astype(np.int64)
    window_end = placed + 7 * 86_400 * 1_000_000
    early = rng.random(orders) < 0.33
    locks = np.where(
        early, placed + (rng.random(orders) * (window_end - placed)).astype(np.int64), window_end
    )
    return BuildQueue(
        ("YU7-STD", "YU7-PRO", "YU7-MAX"),
        sku,
        locks.astype(np.int64),
        np.arange(orders, dtype=np.int64),
    )


def timed(fn: Callable[[], object], repeats: int = 3) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    plan, queue = yu7_plan(), yu7_queue(args.orders)
    placed = queue.locks_at - 7 * 86_400 * 1_000_000
    seq = queue.sequence
    week = plan.week_of(NIGHT)
    made = schedule(plan, queue, week)
    print(f"{args.orders:,} orders; the last car built in week {int(made.week.max())}")

    book = PromiseBook(1, made, [], seq, placed, {}, QueueTail(made))
    kept = book.given()
    cut = yu7_plan(fudi_per_week=1_000)  # fudi delivers 1,000 a week instead of 2,500

    def repromise() -> Changes:
        again = schedule(cut, queue, week)
        return changes(
            PromiseBook(2, again, [], seq, placed, {}, QueueTail(again)), kept, NIGHT, "supply"
        )

    found = repromise()
    outage = (SupplierOutage("fudi", 2, 6),)
    rows = [
        ("schedule", *timed(lambda: schedule(plan, queue, week))),
        ("re-promise after a supply change", *timed(repromise)),
        ("what-if: fudi out for 6 weeks", *timed(lambda: what_if(plan, queue, week, outage))),
        (
            "risk: every supplier's loss, ranked",
            *timed(lambda: supplier_risks(plan, queue, week, 4), 1),
        ),
    ]
    tail = QueueTail(made)
    # Behind the last order of the queue, as a new order is.
    at = datetime.fromtimestamp(int(queue.locks_at.max()) / 1e6, UTC) + timedelta(seconds=1)
    started = time.perf_counter()
    for i in range(10_000):
        promised = tail.join("YU7-MAX", at, at, args.orders + i)
        assert promised is not None, "a new order joins at the back"
    per_join = (time.perf_counter() - started) / 10_000
    print(
        f"re-promise: {len(found.promises.order_seq):,} promises to store,"
        f" {len(found.moves.order_seq):,} moves to tell"
    )
    print("| what | median | runs |\n|---|--:|---|")
    for name, median, runs in rows:
        print(f"| {name} | {median:.3f} s | {', '.join(f'{r:.3f}' for r in runs)} |")
    print(f"| tail join (a new order's promise) | {per_join * 1e6:.1f} us | 10,000 joins |")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(repromise)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)


if __name__ == "__main__":
    main()
