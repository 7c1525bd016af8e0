"""Scenarios (a) to (e): one server on the server core, wrk on the load core.

Each scenario starts its own server (launchday on a fresh database), warms it up
with one wrk run, then measures `repeats` runs. For launchday's order path every
run, warm-up included, is checked against the database afterwards.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from harness.context import ADMIN_KEY, SECRET, Bench, ScenarioResult
from harness.issuer import brand_issuer
from harness.servers import (
    SERVER_CORE,
    UVICORN_HTTP,
    Server,
    launchday_server,
    machine_busy_seconds,
    process_tree_cpu_seconds,
    uvicorn_server,
)
from harness.tokens import customer, join_for_admission, join_for_tickets, write_lines
from harness.wrk import Slice, WrkRun, run_wrk
from launchday.cli import free_port

ORDER_PATH = "/api/v1/launches/{slug}/orders"
SKU = "YU7-MAX"
# Token slices for launchday's order path are sized for this many orders per second;
# a faster run starts its slice over (replays), which the table then reports.
ORDER_RATE_CEILING = 14_000
# Joining the waiting room costs a group commit per batch: (c2) joins only as many
# customers as its runs will use, estimated from (c) with this headroom.
JOIN_HEADROOM = 1.25
DEFAULT_ADMITTED_RATE = 8_000
POLL_TICKETS = 20_000
# A waiting room that admits everyone at once (c2) and one that keeps them waiting (e).
INSTANT_ADMISSION = {"rate_per_second": 1_000_000, "token_ttl_seconds": 86_400}
SLOW_ADMISSION = {"rate_per_second": 1, "token_ttl_seconds": 900}

AfterRun = Callable[[WrkRun, Slice], None]


def production_plan() -> dict[str, Any]:
    """A plan for (c3): one line building the bench's variant 5,000 a week, its battery
    pack from one supplier at 4,000 a week on a stock of 10,000, so every order's promise
    reads the line and the part (docs/delivery.md)."""
    today = datetime.now(UTC).date()
    return {
        "weeks_start": (today - timedelta(days=today.weekday())).isoformat(),
        "timezone": "UTC",
        "delivery_lag_weeks": 2,
        "window_weeks": 3,
        "lines": [
            {"id": "yz", "skus": [SKU], "capacity": [{"from_week": 0, "cars_per_week": 5000}]}
        ],
        "components": [
            {
                "id": "pack",
                "per_car": {SKU: 1},
                "on_hand": 10_000,
                "suppliers": [{"id": "catl", "supply": [{"from_week": 0, "units_per_week": 4000}]}],
            }
        ],
    }


def launch_body(
    slug: str, admission: dict[str, Any] | None = None, payments: bool = False
) -> dict[str, Any]:
    """A launch open since a minute ago: one build-to-order variant (never sold out),
    one order per customer, a waiting room only when `admission` is given, deposits
    through the built-in rehearsal provider with `payments`."""
    opens_at = datetime.now(UTC) - timedelta(minutes=1)
    return {
        "slug": slug,
        "name": "Bench",
        "currency": "CNY",
        "opens_at": opens_at.isoformat().replace("+00:00", "Z"),
        "time_scale": 1,
        "per_customer_limit": 1,
        "deposit": {"amount": 5000, "refundable_hours": 168},
        "variants": [
            {"sku": SKU, "name": "YU7 Max", "price": 329900, "stock": None, "lead_weeks": [39, 42]}
        ],
        "admission": admission,
        "payments": {"provider": "rehearsal", "hold_minutes": 60} if payments else None,
    }


def measure(
    bench: Bench,
    result: ScenarioResult,
    server: Server,
    script: str,
    path: str,
    slices: list[Slice],
    after_run: AfterRun | None = None,
) -> None:
    """The warm-up and the repeats against a ready server, into `result`."""
    for number, tokens in enumerate(slices):
        label = "warm-up" if number == 0 else f"run {number}/{len(slices) - 1}"
        machine, served = machine_busy_seconds(), server.cpu_seconds()
        run = run_wrk(
            script,
            server.base_url,
            path,
            tokens,
            bench.run_seconds[number],
            bench.connections,
            bench.scratch,
        )
        server_used = server.cpu_seconds() - served
        used = machine_busy_seconds() - machine - server_used
        run.others_busy = max(0.0, used / run.seconds - run.load_core_busy)
        run.server_busy = server_used / run.seconds
        if after_run is not None:
            after_run(run, tokens)
        bench.console.print(
            f"  {result.key} {label}: {run.requests_per_second:>9,.0f} req/s"
            f"  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  errors {run.errors}"
            + f"  server {run.server_busy:.0%}  others {run.others_busy:.0%}"
            + (f"  check {'ok' if run.check['ok'] else 'FAILED'}" if run.check else "")
        )
        if number == 0:
            result.warmup = run
        else:
            result.runs.append(run)


def finish(result: ScenarioResult, server: Server) -> None:
    """Memory at the end, the server stopped, and anything its log complained of."""
    if server.process.poll() is None:
        result.memory_mb = server.memory_mb()
    server.stop()
    for line in server.log_alarms():
        result.problems.append(f"server log: {line.strip()}")
    for run in result.runs:
        if run.server_errors:
            result.problems.append(f"{run.server_errors} 5xx answers: {run.statuses}")


# --- (a) and (b): the baselines ---------------------------------------------------------


def baseline(
    bench: Bench, key: str, title: str, app: str, http: str = UVICORN_HTTP
) -> ScenarioResult:
    """A baseline app (no storage) under the same load as launchday's order path."""
    result = ScenarioResult(key, title)
    port = free_port()
    server = uvicorn_server(key, app, port, bench.scratch / f"{key}.server.log", http)
    try:
        server.wait_ready()
        path = ORDER_PATH.format(slug="bench")
        # Same tokens and keys as (c); the baselines ignore them, so starting a slice
        # over costs them nothing and is not reported.
        slices = bench.slices(bench.tokens, ORDER_RATE_CEILING)
        measure(bench, result, server, "order.lua", path, slices)
    finally:
        finish(result, server)
    return result


# --- (c) and (c2): launchday's order path -----------------------------------------------


# A database under test: a SQLite file, or a PostgreSQL URL.
Database = Path | str


def stored_customers(db: Database, slug: str) -> list[int]:
    """Customer numbers of every order of the launch, read from the database."""
    query = "SELECT o.customer FROM orders o JOIN launches l ON l.id = o.launch_id WHERE l.slug = ?"
    if isinstance(db, str):
        with psycopg.connect(db, autocommit=True) as pg:
            rows = pg.execute(query.replace("?", "%s"), (slug,)).fetchall()
    else:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute(query, (slug,)).fetchall()
    return [int(name.removeprefix("b-")) for (name,) in rows]


def settled_customers(db: Database, slug: str) -> list[int]:
    """The stored customers once the count stops moving: orders wrk sent just before
    its deadline may still be committing when it exits."""
    previous = stored_customers(db, slug)
    for _ in range(50):
        time.sleep(0.2)
        current = stored_customers(db, slug)
        if len(current) == len(previous):
            return current
        previous = current
    return previous


def check_orders(db: Database, slug: str, run: WrkRun, tokens: Slice) -> dict[str, Any]:
    """Compare the run's acknowledged orders with what the database holds for its slice.

    Nothing lost: every customer answered 201 has an order. Nothing extra: the only
    orders without a 201 are the requests wrk cut off at its deadline (sent, never
    answered), at most one per connection.
    """
    stored = [n for n in settled_customers(db, slug) if tokens.first <= n < tokens.end]
    stored_set, acked_set = set(stored), set(run.acked)
    lost = acked_set - stored_set
    unacknowledged = stored_set - acked_set
    unanswered = run.sent - run.answered
    check: dict[str, Any] = {
        "acknowledged": len(acked_set),
        "stored": len(stored),
        "lost": len(lost),
        "stored_unacknowledged": len(unacknowledged),
        "unanswered_at_cutoff": unanswered,
        "duplicate_orders": len(stored) - len(stored_set),
        "duplicate_acks": len(run.acked) - len(acked_set),
        "replayed": run.replayed,
        "server_errors": run.server_errors,
    }
    check["ok"] = (
        not lost
        and len(unacknowledged) <= unanswered
        and check["duplicate_orders"] == 0
        and check["duplicate_acks"] == 0
        and run.server_errors == 0
    )
    if lost:
        check["lost_examples"] = [customer(n) for n in sorted(lost)[:10]]
    return check


def checked_runs(result: ScenarioResult) -> list[tuple[WrkRun, dict[str, Any]]]:
    """The warm-up and the repeats that were checked against the database, with checks."""
    every = (result.warmup, *result.runs)
    return [(run, run.check) for run in every if run is not None and run.check is not None]


def check_total(result: ScenarioResult, db: Database, slug: str) -> None:
    """Every order of the launch belongs to one of the runs' slices, counted once."""
    counted = sum(check["stored"] for _, check in checked_runs(result))
    total = len(stored_customers(db, slug))
    result.figures["orders_stored"] = total
    if total != counted:
        result.problems.append(f"{total} orders stored but {counted} in the runs' slices")


def loss_note(result: ScenarioResult) -> None:
    """One line on the loss check of every run, for the table."""
    checks = [check for _, check in checked_runs(result)]
    acked = sum(check["acknowledged"] for check in checks)
    stored = sum(check["stored"] for check in checks)
    cut = sum(check["stored_unacknowledged"] for check in checks)
    lost = sum(check["lost"] for check in checks)
    failed = [check for check in checks if not check["ok"]]
    verdict = "ok" if not failed else f"FAILED in {len(failed)} run(s)"
    result.notes.append(
        f"loss check {verdict}: {stored:,} stored = {acked:,} acknowledged + {cut} cut off"
        f" in flight, {lost} lost"
    )
    for check in failed:
        result.problems.append(f"loss check failed: {check}")
    replayed = sum(run.replayed for run, _ in checked_runs(result))
    if replayed:
        result.notes.append(f"{replayed:,} requests repeated a key (slice too small): replays")


def order_path(
    bench: Bench,
    key: str,
    title: str,
    rate: float,
    admission: bool = False,
    database: str | None = None,
    database_cpu: Callable[[], float] | None = None,
    plan: bool = False,
    payments: bool = False,
    issuer: bool = False,
) -> ScenarioResult:
    """launchday's full order path on a fresh SQLite database (or `database`, a fresh
    PostgreSQL database's URL).

    With `admission`, the launch has a waiting room that admits at once; every
    benchmark customer joins it before the runs and orders with its admission token.
    With `plan`, the launch has a production plan and every 201 carries the order's
    delivery promise. With `payments`, deposits are paid through the rehearsal provider:
    every 201 is `pending_payment` with the intent its buyer pays (docs/payments.md).
    With `issuer`, every customer's token is an RS256 token of a brand's identity
    provider, checked against its JWKS (docs/identity.md), each seen once.
    """
    result = ScenarioResult(key, title)
    tokens = bench.tokens
    env: dict[str, str] = {}
    if issuer:
        tokens = bench.scratch / "rs256-tokens.txt"
        count = bench.tokens_needed(rate)
        issuers, took = brand_issuer(bench.scratch, tokens, count)
        bench.console.print(f"minted {count:,} RS256 customer tokens in {took:.1f} s")
        env["LAUNCHDAY_ISSUERS"] = str(issuers)
    slug = "bench-room" if admission else "bench-plan" if plan else "bench"
    slug = "bench-pay" if payments else slug
    db: Database = database or bench.scratch / f"{key}.db"
    port = free_port()
    log = bench.scratch / f"{key}.server.log"
    server = launchday_server(key, db, port, log, ADMIN_KEY, SECRET, env)
    server.database_cpu = database_cpu
    try:
        server.wait_ready()
        create_launch(server, launch_body(slug, INSTANT_ADMISSION if admission else None, payments))
        if plan:
            put_plan(server, slug, production_plan())
        slices = bench.slices(tokens, rate)
        if admission:
            tokens = admit_customers(bench, server, slug, slices[-1].end, result)
            slices = [Slice(tokens, s.first, s.per_thread, s.threads) for s in slices]

        def after_run(run: WrkRun, tokens: Slice) -> None:
            run.check = check_orders(db, slug, run, tokens)

        measure(bench, result, server, "order.lua", ORDER_PATH.format(slug=slug), slices, after_run)
        check_total(result, db, slug)
        loss_note(result)
    finally:
        finish(result, server)
    return result


def create_launch(server: Server, body: dict[str, Any]) -> None:
    answer = httpx.post(
        f"{server.base_url}/api/v1/launches",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    if answer.status_code != 201:
        raise RuntimeError(f"the server refused the launch: {answer.status_code} {answer.text}")


def put_plan(server: Server, slug: str, body: dict[str, Any]) -> None:
    answer = httpx.put(
        f"{server.base_url}/api/v1/launches/{slug}/production",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"the server refused the plan: {answer.status_code} {answer.text}")


def read_tokens(bench: Bench, count: int) -> list[str]:
    """The first `count` customer tokens of the pre-minted file."""
    with bench.tokens.open() as lines:
        return [next(lines).strip() for _ in range(min(count, bench.token_count))]


def admit_customers(
    bench: Bench, server: Server, slug: str, count: int, result: ScenarioResult
) -> Path:
    """Join `count` customers to the waiting room; a token file of their customer and
    admission tokens."""
    tokens = read_tokens(bench, count)
    started = time.perf_counter()
    admitted = join_for_admission(server.base_url, slug, tokens)
    seconds = time.perf_counter() - started
    bench.console.print(
        f"  {result.key}: {len(tokens):,} customers joined and admitted in {seconds:.1f} s"
        f" ({len(tokens) / seconds:,.0f}/s)"
    )
    result.notes.append(f"{len(tokens):,} customers joined first ({len(tokens) / seconds:,.0f}/s)")
    result.figures["joined"] = len(tokens)
    result.figures["join_seconds"] = round(seconds, 1)
    path = bench.scratch / f"{result.key}-tokens.txt"
    write_lines(path, list(zip(tokens, admitted, strict=True)))
    return path


# --- (d): PostgreSQL ---------------------------------------------------------------------


def postgres(bench: Bench, rate: float) -> ScenarioResult:
    """(c) on PostgreSQL: a throwaway cluster of Debian's binaries (the tests' own, fsync
    and synchronous_commit on), pinned to the server core with the server, so that the
    database's work counts against the same core as SQLite's does in (c)."""
    title = "launchday order, PostgreSQL"
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the tests' cluster helper
    from tests.pg_cluster import pg_server

    with pg_server() as server:
        if server is None or server.cluster is None:
            return ScenarioResult("d", title, skipped="skipped: no PostgreSQL binaries here")
        postmaster = server.cluster.pin(SERVER_CORE)
        return order_path(
            bench,
            "d",
            title,
            rate,
            database=server.create_database("bench"),
            database_cpu=lambda: process_tree_cpu_seconds(postmaster),
        )


# --- (e): the waiting room's ticket poll ------------------------------------------------


def ticket_poll(bench: Bench) -> ScenarioResult:
    """GET a waiting ticket, each request another ticket with its own customer's token.

    The room admits one buyer a second, so nearly every ticket is waiting: the answer
    is a position, people ahead and an ETA, the most frequent request of a launch night.
    """
    result = ScenarioResult("e", "ticket poll")
    slug = "bench-poll"
    port = free_port()
    server = launchday_server(
        "e", bench.scratch / "e.db", port, bench.scratch / "e.server.log", ADMIN_KEY, SECRET
    )
    try:
        server.wait_ready()
        create_launch(server, launch_body(slug, SLOW_ADMISSION))
        tokens = read_tokens(bench, POLL_TICKETS)
        tickets = join_for_tickets(server.base_url, slug, tokens)
        path = bench.scratch / "e-tickets.txt"
        write_lines(path, list(zip(tokens, tickets, strict=True)))
        result.figures["tickets"] = len(tickets)
        result.notes.append(f"{len(tickets):,} tickets, polled round and round")
        # Every run goes round the same tickets: a browser polls its ticket many times.
        per_thread = len(tickets) // bench.threads
        slices = [Slice(path, 0, per_thread, bench.threads) for _ in bench.run_seconds]
        measure(bench, result, server, "poll.lua", f"/api/v1/launches/{slug}/queue/", slices)
    finally:
        finish(result, server)
    return result
