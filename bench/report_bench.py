"""Time `build_report` on a launch of 1,000,000 orders (median of 3).

The database is built straight into SQLite with `executemany`, or into PostgreSQL with
COPY, bypassing the API: what is timed is the report's queries, not order intake. Run
it from the project:

    .venv/bin/python bench/report_bench.py [--orders N] [--db PATH]
    .venv/bin/python bench/report_bench.py --db postgresql://user@host/db [--orders N]
    .venv/bin/python bench/report_bench.py --postgres [--orders N]

`--db PATH` reuses or builds a SQLite file; a `postgresql://` URL reuses or builds the
launches in that database (which must exist); `--postgres` starts a throwaway server
of its own (tests/pg_cluster.py: Debian's binaries, fsync on) and builds there.

The launch looks like the YU7's night at scale: 60% of orders in the first three
minutes, 25% in the rest of the first hour, 15% over the next three days; 45% lock
early, 5% cancel inside the window, the rest lock when their 7-day window ends; a
zero-hour limited edition locks at placement. 30% of orders carry a profile and 60%
of buyers registered interest. A second, smaller launch (30% of the size) is there
to compare with. The report is taken eight days after opening, so every standard
milestone (up to 7 days) is reached and the window-end locks have happened.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from launchday.analytics import build_report
from launchday.api.wire import DepositSpec, LaunchSpec, VariantSpec
from launchday.domain.clock import to_micros
from launchday.store.migrations import migrate_postgres, migrate_sqlite
from launchday.store.reads import snapshot_reads

US = 1_000_000
HOUR = 3600 * US
WINDOW = 168 * HOUR
OPENS = datetime(2025, 6, 26, 14, 0, tzinfo=UTC)
OTHER_OPENS = datetime(2024, 3, 28, 11, 0, tzinfo=UTC)
PHONES = ("ios", "android", "other")
SKUS = ("YU7-STD", "YU7-PRO", "YU7-MAX")
LIMITED = "YU7-LTD"


def launch_spec(slug: str, opens_at: datetime) -> LaunchSpec:
    """A YU7-like launch: three build-to-order trims and a zero-hour limited edition."""
    return LaunchSpec(
        slug=slug,
        name=f"Bench {slug}",
        currency="CNY",
        opens_at=opens_at,
        interest_opens_at=opens_at - timedelta(hours=72),
        deposit=DepositSpec(amount=5000, refundable_hours=168),
        variants=[
            *(VariantSpec(sku=sku, name=sku, price=300_000) for sku in SKUS),
            VariantSpec(
                sku=LIMITED,
                name="Launch edition",
                price=399_900,
                stock=10_000,
                deposit=DepositSpec(amount=20_000, refundable_hours=0),
            ),
        ],
        report_milestones=[10, 30, 60, 120, 180, 600, 1800, 3600],
    )


def _offset_us(rng: random.Random) -> int:
    """Time after opening of one order: a crush, then a long tail."""
    draw = rng.random()
    if draw < 0.60:
        return int(rng.expovariate(1 / 40) * US) % (180 * US)
    if draw < 0.85:
        return rng.randrange(180 * US, 3600 * US)
    return rng.randrange(3600 * US, 72 * HOUR)


def _orders(
    launch_id: int, opens_us: int, count: int, rng: random.Random
) -> Iterator[tuple[object, ...]]:
    limited_left = 10_000 if count >= 100_000 else count // 10
    customers = list(range(count))
    rng.shuffle(customers)
    # Sequence numbers rise with the time an order is accepted, as in the real store.
    placed_times = sorted(opens_us + _offset_us(rng) for _ in range(count))
    for n, placed in enumerate(placed_times):
        limited = limited_left > 0 and rng.random() < 0.02
        profile = rng.random() < 0.30
        first_car = (rng.random() < 0.6) if profile else None
        new_to_brand = (rng.random() < 0.4) if profile else None
        phone = rng.choice(PHONES) if profile else None
        if limited:
            limited_left -= 1
            sku, deposit, until = LIMITED, 20_000, placed
            status, locked, cancelled, refund = "locked", placed, None, None
        else:
            sku, deposit, until = rng.choice(SKUS), 5000, placed + WINDOW
            fate = rng.random()
            if fate < 0.05:
                status, locked, refund = "cancelled", None, deposit
                cancelled = placed + rng.randrange(1, WINDOW)
            elif fate < 0.50:
                status, locked, cancelled, refund = "locked", None, None, None
                locked = placed + min(int(rng.expovariate(1 / 60) * US), WINDOW - 1)
            else:
                status, locked, cancelled, refund = "reserved", None, None, None
        yield (
            f"{launch_id}-{n:08d}",
            launch_id,
            sku,
            f"c-{customers[n]:07d}",
            "k",
            b"0123456789abcdef",
            status,
            deposit,
            placed,
            until,
            locked,
            cancelled,
            refund,
            first_car,
            new_to_brand,
            phone,
            "CN-BJ" if profile else None,
        )


def _interest(
    launch_id: int, interest_opens_us: int, orders: int, rng: random.Random
) -> Iterator[tuple[object, ...]]:
    # Customers c-0 .. c-(orders-1) ordered; 60% of them (and as many again who did
    # not order) registered over the 72 hours before opening.
    start, stop = int(orders * 0.4), int(orders * 1.2)
    for n in range(start, stop):
        answered = rng.random() < 0.9
        yield (
            launch_id,
            f"c-{n:07d}",
            interest_opens_us + rng.randrange(0, 72 * HOUR),
            (rng.random() < 0.6) if answered else None,
            (rng.random() < 0.4) if answered else None,
            rng.choice(PHONES) if answered else None,
            "CN-SH",
        )


def build_database(path: Path, orders: int, seed: int = 7) -> None:
    """Two launches (`bench-yu7` with `orders` orders, `bench-su7` with 30% of that)."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")  # a benchmark fixture, not a store
    migrate_sqlite(conn)
    conn.execute("BEGIN")
    for slug, opens_at, count in (
        ("bench-yu7", OPENS, orders),
        ("bench-su7", OTHER_OPENS, int(orders * 0.3)),
    ):
        spec = launch_spec(slug, opens_at)
        cursor = conn.execute(
            "INSERT INTO launches (slug, spec, created_at_us) VALUES (?, ?, ?)",
            (slug, msgspec.json.encode(spec), to_micros(opens_at)),
        )
        launch_id = cursor.lastrowid
        assert launch_id is not None
        conn.executemany(
            "INSERT INTO variants (launch_id, sku, stock) VALUES (?, ?, ?)",
            [(launch_id, v.sku, v.stock) for v in spec.variants],
        )
        conn.executemany(
            "INSERT INTO orders (id, launch_id, sku, customer, idempotency_key, request_hash,"
            " status, deposit_amount, placed_at_us, refundable_until_us, locked_at_us,"
            " cancelled_at_us, refund_amount, first_car_with_brand, new_to_brand, phone, region)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _orders(launch_id, to_micros(opens_at), count, rng),
        )
        assert spec.interest_opens_at is not None
        conn.executemany(
            "INSERT INTO interest (launch_id, customer, registered_at_us,"
            " first_car_with_brand, new_to_brand, phone, region) VALUES (?, ?, ?, ?, ?, ?, ?)",
            _interest(launch_id, to_micros(spec.interest_opens_at), count, rng),
        )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


_ORDER_COLUMNS = (
    "id, launch_id, sku, customer, idempotency_key, request_hash, status, deposit_amount,"
    " placed_at_us, refundable_until_us, locked_at_us, cancelled_at_us, refund_amount,"
    " first_car_with_brand, new_to_brand, phone, region"
)
_INTEREST_COLUMNS = (
    "launch_id, customer, registered_at_us, first_car_with_brand, new_to_brand, phone, region"
)


def _flags(row: tuple[object, ...], *at: int) -> tuple[object, ...]:
    """`row` with the booleans at positions `at` as PostgreSQL's SMALLINT 0/1 (or NULL)."""
    out = list(row)
    for n in at:
        if out[n] is not None:
            out[n] = int(bool(out[n]))
    return tuple(out)


def build_postgres_database(url: str, orders: int, seed: int = 7) -> None:
    """The same two launches as `build_database`, in the PostgreSQL database at `url`.

    Rows go in with COPY; `seq` is numbered as the store numbers it (rising with the
    time each order was placed) and the store's sequence is moved past it. VACUUM
    ANALYZE at the end does what autovacuum would do after a night of inserts: it
    gathers the planner's statistics and marks the pages all-visible, which lets
    PostgreSQL count from an index without visiting the table.
    """
    rng = random.Random(seed)
    with closing(psycopg.connect(url, autocommit=True)) as conn:
        migrate_postgres(conn)
        conn.execute("SET synchronous_commit = off")  # a benchmark fixture, not a store
        seq = 0
        with conn.transaction():
            for slug, opens_at, count in (
                ("bench-yu7", OPENS, orders),
                ("bench-su7", OTHER_OPENS, int(orders * 0.3)),
            ):
                spec = launch_spec(slug, opens_at)
                row = conn.execute(
                    "INSERT INTO launches (slug, spec, created_at_us) VALUES (%s, %s, %s)"
                    " RETURNING id",
                    (slug, msgspec.json.encode(spec), to_micros(opens_at)),
                ).fetchone()
                assert row is not None
                launch_id = int(row[0])
                conn.cursor().executemany(
                    "INSERT INTO variants (launch_id, sku, stock) VALUES (%s, %s, %s)",
                    [(launch_id, v.sku, v.stock) for v in spec.variants],
                )
                with conn.cursor().copy(f"COPY orders (seq, {_ORDER_COLUMNS}) FROM STDIN") as copy:
                    for order in _orders(launch_id, to_micros(opens_at), count, rng):
                        seq += 1
                        copy.write_row((seq, *_flags(order, 13, 14)))
                assert spec.interest_opens_at is not None
                interest = _interest(launch_id, to_micros(spec.interest_opens_at), count, rng)
                with conn.cursor().copy(f"COPY interest ({_INTEREST_COLUMNS}) FROM STDIN") as copy:
                    for registration in interest:
                        copy.write_row(_flags(registration, 3, 4))
            conn.execute("SELECT setval('orders_seq', %s)", (seq,))
        conn.execute("VACUUM ANALYZE")
        # A VACUUM that runs beside an older snapshot (autovacuum's own ANALYZE, say)
        # cannot mark the new rows visible to all: run it again until it has.
        for _ in range(5):
            hidden = conn.execute(
                "SELECT sum(relpages - relallvisible) FROM pg_class"
                " WHERE relname IN ('orders', 'interest')"
            ).fetchone()
            if hidden is None or not hidden[0]:
                break
            time.sleep(1)
            conn.execute("VACUUM orders, interest")


def _has_launch(url: str) -> bool:
    with closing(psycopg.connect(url, autocommit=True)) as conn:
        table = conn.execute("SELECT to_regclass('launches')").fetchone()
        if table is None or table[0] is None:
            return False
        return (
            conn.execute("SELECT 1 FROM launches WHERE slug = 'bench-yu7'").fetchone() is not None
        )


def _connect(db: Path | str) -> Any:
    if isinstance(db, str):
        return psycopg.connect(db, autocommit=True)
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def time_report(db: Path | str, compare: str | None, runs: int = 3) -> list[float]:
    """Seconds per `build_report` call, each on a fresh connection (read-only on SQLite);
    `db` is a SQLite file's path or a PostgreSQL URL."""
    now = OPENS + timedelta(days=8)
    timings = []
    for _ in range(runs):
        with closing(_connect(db)) as conn:
            started = time.perf_counter()
            report = build_report(snapshot_reads(conn), "bench-yu7", compare=compare, now=now)
            timings.append(time.perf_counter() - started)
    assert report.orders.total > 0
    return timings


def report_timings(db: Path | str, label: str) -> None:
    for compare in (None, "bench-su7"):
        timings = time_report(db, compare)
        print(
            f"{label}, compare={compare!r}: median {statistics.median(timings):.3f} s"
            f" (runs: {', '.join(f'{t:.3f}' for t in timings)})"
        )


def bench_postgres(url: str, orders: int) -> None:
    if not _has_launch(url):
        started = time.perf_counter()
        build_postgres_database(url, orders)
        print(f"built {orders:,} orders in {time.perf_counter() - started:.1f} s on PostgreSQL")
    report_timings(url, f"{orders:,} orders, PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument(
        "--db", help="reuse or build the database here: a SQLite file, or a postgresql:// URL"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="build on a throwaway PostgreSQL server"
    )
    args = parser.parse_args()
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pg_cluster import pg_server

        with pg_server() as server:
            if server is None:
                raise SystemExit("no PostgreSQL server binaries here (apt install postgresql)")
            bench_postgres(server.create_database("bench", migrated=False), args.orders)
        return
    if args.db and args.db.startswith(("postgresql://", "postgres://")):
        bench_postgres(args.db, args.orders)
        return
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(args.db) if args.db else Path(scratch) / "bench.db"
        if not path.exists():
            started = time.perf_counter()
            build_database(path, args.orders)
            print(f"built {args.orders:,} orders in {time.perf_counter() - started:.1f} s: {path}")
        report_timings(path, f"{args.orders:,} orders")


if __name__ == "__main__":
    main()
