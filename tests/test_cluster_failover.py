"""Failover on the one-machine cluster (`launchday.cluster`, docs/cluster.md), mid-burst.

Buyers order through HAProxy (tests/cluster_burst.py) while one part fails: the
primary's whole node killed, an API host killed, the primary cut off from the network,
the synchronous standby frozen, an etcd member killed (tests/cluster_faults.py). After
each, what the buyers were told is checked against the current primary, found through
Patroni's `/cluster`: every order answered 201 is stored exactly once with the id it was
answered with, nothing is stored that nobody asked for, the limited edition is not
oversold, no customer holds more than the limit, and every waiting-room ticket has the
position its customer was told. One more test cuts the primary off from its standbys
alone, in a quiet moment, and follows one buyer whose retries alternate between the API
hosts. The time without writes is printed for each fault (run with `-s`; the figures
are in docs/cluster.md, "Failover timing"). The cluster is made whole again between the
tests, and what that took printed too.

Needs root and Debian's packages (scripts/system-packages); skips without them, which
CI counts as a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from launchday.cluster import RunningCluster
from launchday.cluster import daemons as cluster_daemons
from launchday.cluster.layout import DATABASE, DATABASE_USER, POSTGRES_PORT, Node
from launchday.cluster.processes import pid_of, running
from tests import cluster_faults as faults
from tests.cluster_burst import (
    ERROR_PAUSE_SECONDS,
    LIMITED_SKU,
    MAX_SKU,
    PER_CUSTOMER_LIMIT,
    RETRY_CAP_SECONDS,
    Burst,
    Tally,
)
from tests.support import ADMIN_KEY, customer_token, launch_body

# A prefix and subnet of this module's own: neither a developer's cluster (`ld`,
# 10.231.0.0/24) nor tests/test_cluster_up.py's is found or taken down here.
PREFIX = "ldfo"
SUBNET = "10.231.8"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

LIMITED_STOCK = 30
# New orders acknowledged before the fault (the burst is under way), and after it (they
# flow again), each waited for at most the timeout.
BEFORE = 150
AFTER = 150
FLOW_TIMEOUT = 90.0
# How long buyers under way may keep retrying once the burst is told to stop.
DRAIN_SECONDS = 30.0
# The synchronous standby stays frozen this long: longer than wal_sender_timeout (5 s)
# and two of Patroni's loops, so that Patroni can act on it.
FREEZE_SECONDS = 12.0
# Buyers keep ordering at least this long after a fault strikes, before the orders that
# show writes flowing again are counted: an etcd election and two of Patroni's loops
# (2 s each), HAProxy's marking a host down (2 checks 1 s apart) fit in it.
HOLD_SECONDS = 8.0

Fault = Callable[[RunningCluster, Burst, list[str]], Awaitable[float]]
"""Does the harm mid-burst, notes what it saw, and returns when it struck."""

FIGURES: list[str] = []


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[RunningCluster]:
    failed_before = request.session.testsfailed
    # The daemons' logs tell why a failover went wrong: kept when a test failed.
    kept = Path()

    def keep_logs() -> bool:
        return request.session.testsfailed != failed_before

    with faults.cluster_for_tests(PREFIX, SUBNET, keep_logs) as running_cluster:
        FIGURES.append(f"cluster up: {running_cluster.seconds:.1f} s")
        kept = running_cluster.layout.run_dir
        try:
            yield running_cluster
        finally:
            started = time.monotonic()
    FIGURES.append(f"cluster down: {time.monotonic() - started:.1f} s")
    if keep_logs():
        FIGURES.append(f"logs kept in {kept}")
    print("\n" + "\n".join(FIGURES))


@pytest.fixture
def whole(cluster: RunningCluster) -> RunningCluster:
    """The cluster, whole: each test starts from a healthy one whatever the last did."""
    healed = faults.heal(cluster)
    if healed.restarted:
        FIGURES.append(f"  made whole first: {', '.join(healed.restarted)}")
    return cluster


def create_launches(cluster: RunningCluster, name: str) -> tuple[str, str]:
    """An open launch with a limited edition and a limit of two, and an open launch
    whose waiting room is paused (positions never move while nobody is admitted)."""
    slug, room = f"fo-{name}", f"fo-{name}-room"
    opened = datetime.now(UTC) - timedelta(minutes=1)
    variants = [
        {"sku": MAX_SKU, "name": "YU7 Max", "price": 329900, "stock": None},
        {"sku": LIMITED_SKU, "name": "Launch edition", "price": 399900, "stock": LIMITED_STOCK},
    ]
    with httpx.Client(base_url=cluster.public_url, headers=ADMIN, timeout=30) as client:
        for body in (
            launch_body(slug, opened, per_customer_limit=PER_CUSTOMER_LIMIT, variants=variants),
            launch_body(room, opened, admission={"rate_per_second": 1, "token_ttl_seconds": 900}),
        ):
            created = admin_post(client, "/api/v1/launches", body)
            # A 409 after a 503: the launch the unanswered attempt stored.
            assert created.status_code in (201, 409), created.text
            read = client.get(f"/api/v1/launches/{body['slug']}")
            assert read.status_code == 200, read.text
        paused = admin_post(client, f"/api/v1/launches/{room}/admission", {"paused": True})
        assert paused.status_code == 200, paused.text
    return slug, room


def admin_post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST as the brand's operator does: again after a 502/503/504 (a host whose
    database connection the fault before cut reconnects on its next write), for up to
    30 s; the last answer."""
    deadline = time.monotonic() + 30
    while True:
        answer = client.post(path, json=body)
        if answer.status_code not in (502, 503, 504) or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def burst_through(cluster: RunningCluster, name: str, fault: Fault) -> Tally:
    """A burst with `fault` struck mid-way, checked against the database; what the buyers
    were told. The time without writes from the fault on goes into FIGURES."""
    slug, room = create_launches(cluster, name)
    notes: list[str] = []

    async def main() -> tuple[Tally, float, bool]:
        burst = Burst(cluster.public_url, slug, room)
        stop = asyncio.Event()
        buying = asyncio.create_task(burst.run(stop, DRAIN_SECONDS))
        try:
            began = await burst.wait_for_orders(BEFORE, 0.0, FLOW_TIMEOUT)
            assert began, f"the burst did not start: {burst.tally.summary()}"
            fault_at = await fault(cluster, burst, notes)
            await asyncio.sleep(max(0.0, fault_at + HOLD_SECONDS - time.monotonic()))
            flowing = await burst.wait_for_orders(AFTER, time.monotonic(), FLOW_TIMEOUT)
        finally:
            stop.set()
            tally = await buying
        return tally, fault_at, flowing

    tally, fault_at, flowing = asyncio.run(main())
    assert flowing, f"orders did not flow again within {FLOW_TIMEOUT:g} s: {tally.summary()}"
    gap = tally.gap_after(fault_at)
    FIGURES.append(
        f"{name}: {gap.seconds:.2f} s without writes (201s at {gap.last_before:.2f} s and"
        f" {gap.first_after:.2f} s, fault at {fault_at - tally.started:.2f} s);"
        f" {'; '.join(notes)}; {tally.summary()}"
    )
    check_answers(tally)
    check_invariants(cluster, tally, slug, room)
    return tally


def check_answers(tally: Tally) -> None:
    """Buyers got 201, a refusal that ends their try, or 502/503/504 and a retry; never a
    500, and every 503 said when to retry; every request ended in the drain time."""
    assert tally.unexpected == [], tally.unexpected[:10]
    assert tally.unavailable_without_retry_after == 0
    assert tally.gave_up == [], tally.gave_up[:10]


def primary_url(cluster: RunningCluster, node: Node | None = None) -> str:
    node = node or faults.primary_node(cluster.layout)
    password = cluster.credentials.db_password
    return f"postgresql://{DATABASE_USER}:{password}@{node.address}:{POSTGRES_PORT}/{DATABASE}"


def check_invariants(cluster: RunningCluster, tally: Tally, slug: str, room: str) -> None:
    """What the buyers were told against what the current primary holds."""
    with psycopg.connect(primary_url(cluster), autocommit=True, connect_timeout=5) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        orders = conn.execute(
            "SELECT o.id, o.customer, o.idempotency_key, o.sku, o.status FROM orders o"
            " JOIN launches l ON l.id = o.launch_id WHERE l.slug = %s",
            (slug,),
        ).fetchall()
        variants = conn.execute(
            "SELECT v.sku, v.stock, v.placed - v.cancelled FROM variants v"
            " JOIN launches l ON l.id = v.launch_id WHERE l.slug = %s",
            (slug,),
        ).fetchall()
        tickets = conn.execute(
            "SELECT q.customer, q.ticket, q.position FROM queue_tickets q"
            " JOIN launches l ON l.id = q.launch_id WHERE l.slug = %s",
            (room,),
        ).fetchall()

    stored = {row[0]: row for row in orders}
    assert len(stored) == len(orders), "an order id stored twice"
    per_key = Counter((row[1], row[2]) for row in orders)
    assert max(per_key.values(), default=1) == 1, "two orders for one (customer, key)"
    told: dict[tuple[str, str], set[str]] = {}
    for ack in tally.acknowledged:
        row = stored.get(ack.order_id)
        assert row is not None, f"{ack} was answered 201 but is not stored"
        assert (row[1], row[2], row[3]) == (ack.customer, ack.key, ack.sku), (ack, row)
        told.setdefault((ack.customer, ack.key), set()).add(ack.order_id)
    assert all(len(ids) == 1 for ids in told.values()), "one key answered with two orders"
    asked = {(row[1], row[2], row[3]) for row in orders}
    assert asked <= tally.sent, f"stored but never asked for: {sorted(asked - tally.sent)[:5]}"

    live = [row for row in orders if row[4] != "cancelled"]
    limited = sum(1 for row in live if row[3] == LIMITED_SKU)
    assert limited <= LIMITED_STOCK, f"{limited} limited editions sold of {LIMITED_STOCK}"
    counted = Counter(row[3] for row in live)
    assert {sku: held for sku, _, held in variants} == {
        sku: counted.get(sku, 0) for sku, _, _ in variants
    }, "a variant's counter disagrees with its orders"
    if tally.refusals["sold_out"]:
        assert limited == LIMITED_STOCK, "sold out with units left"
    per_customer = Counter(row[1] for row in live)
    assert max(per_customer.values(), default=0) <= PER_CUSTOMER_LIMIT

    positions = sorted(row[2] for row in tickets)
    assert positions == list(range(1, len(tickets) + 1)), "waiting-room places not 1..n"
    by_customer = {row[0]: (row[1], row[2]) for row in tickets}
    assert len(by_customer) == len(tickets), "a customer with two tickets"
    for joined in tally.joined.values():
        assert by_customer.get(joined.customer) == (joined.ticket, joined.position), joined
    check_tickets_read(cluster, tally, room)


def check_tickets_read(cluster: RunningCluster, tally: Tally, room: str) -> None:
    """Every running API host shows each ticket at the position its customer was told (a
    ticket read is served from the host's memory, rebuilt from the database on start)."""
    hosts = cluster_daemons.api_servers(cluster.layout, None)
    for node in [d.node for d in hosts if running(d)]:
        with httpx.Client(base_url=cluster.layout.api_url(node), timeout=30) as client:
            for joined in tally.joined.values():
                token = customer_token(joined.customer)
                read = client.get(
                    f"/api/v1/launches/{room}/queue/{joined.ticket}",
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert read.status_code == 200, f"{node.name}: {read.text}"
                shown: dict[str, Any] = read.json()
                assert shown["position"] == joined.position, (node.name, joined, shown)


def restore(cluster: RunningCluster, name: str, tally: Tally) -> None:
    """The cluster made whole again; every API host, a restarted one too, still shows
    each ticket where its customer was told."""
    restore_only(cluster, name)
    check_tickets_read(cluster, tally, f"fo-{name}-room")


def restore_only(cluster: RunningCluster, name: str) -> None:
    healed = faults.heal(cluster)
    FIGURES.append(
        f"  {name} restored in {healed.seconds:.1f} s (restarted: "
        f"{', '.join(healed.restarted) or 'nothing'})"
    )


# --- the faults ---------------------------------------------------------------------


async def kill_primary_node(cluster: RunningCluster, burst: Burst, notes: list[str]) -> float:
    """The primary's machine lost: etcd, Patroni and PostgreSQL killed at once."""
    node = faults.primary_node(cluster.layout)
    struck = time.monotonic()
    killed = await asyncio.to_thread(faults.kill_node, node)
    notes.append(f"killed {node.name} ({', '.join(killed)})")
    return struck


async def kill_api_host(cluster: RunningCluster, burst: Burst, notes: list[str]) -> float:
    node = cluster.layout.api_nodes[0]
    struck = time.monotonic()
    killed = await asyncio.to_thread(faults.kill_node, node)
    notes.append(f"killed {node.name} ({', '.join(killed)})")
    return struck


async def cut_primary(cluster: RunningCluster, burst: Burst, notes: list[str]) -> float:
    node = faults.primary_node(cluster.layout)
    struck = time.monotonic()
    await asyncio.to_thread(faults.cut_link, node)
    notes.append(f"cut {node.name} off")
    return struck


async def freeze_sync_standby(cluster: RunningCluster, burst: Burst, notes: list[str]) -> float:
    """SIGSTOP the synchronous standby's Patroni and PostgreSQL (not its etcd member: a
    database server hung, its host alive) for FREEZE_SECONDS, noting when the primary's
    commits stop waiting for it (Patroni names the other standby synchronous)."""
    layout = cluster.layout
    node, primary = faults.sync_standby_node(layout), faults.primary_node(layout)
    before = await asyncio.to_thread(faults.synchronous_standby_names, cluster, primary)
    pids = faults.database_pids(node)
    unavailable = burst.tally.answers["503"]
    struck = time.monotonic()
    faults.freeze(pids)
    renamed: str | None = None
    try:
        while time.monotonic() < struck + FREEZE_SECONDS:
            names = await asyncio.to_thread(faults.synchronous_standby_names, cluster, primary)
            if renamed is None and names and node.name not in names:
                after = time.monotonic() - struck
                renamed = f"the primary's commits wait for {names} from {after:.1f} s"
            await asyncio.sleep(0.25)
    finally:
        faults.thaw(pids)
    notes.append(f"froze {node.name} ({before}) for {FREEZE_SECONDS:g} s")
    notes.append(renamed or "no other standby named synchronous: commits waited")
    notes.append(f"{burst.tally.answers['503'] - unavailable} answers 503 while frozen")
    return struck


async def kill_etcd_leader(cluster: RunningCluster, burst: Burst, notes: list[str]) -> float:
    layout = cluster.layout
    node = faults.etcd_leader_node(layout)
    member = next(d for d in cluster_daemons.etcd_members(layout) if d.node == node)
    struck = time.monotonic()
    await asyncio.to_thread(faults.kill_daemon, member)
    notes.append(f"killed etcd on {node.name}, the etcd leader")
    return struck


# --- the tests ----------------------------------------------------------------------


def api_pids(cluster: RunningCluster) -> list[int | None]:
    return [pid_of(d) for d in cluster_daemons.api_servers(cluster.layout, None)]


def test_the_primary_machine_killed_mid_burst_fails_over_to_the_sync_standby(
    whole: RunningCluster,
) -> None:
    before = faults.primary_node(whole.layout)
    hosts = api_pids(whole)
    tally = burst_through(whole, "primary-killed", kill_primary_node)
    assert faults.primary_node(whole.layout) != before
    assert api_pids(whole) == hosts, "the API hosts reconnected without a restart"
    assert tally.answers["503"] > 0, "buyers were told to retry meanwhile"
    restore(whole, "primary-killed", tally)


def test_an_api_host_killed_mid_burst_leaves_the_other_serving(whole: RunningCluster) -> None:
    tally = burst_through(whole, "api-killed", kill_api_host)
    restore(whole, "api-killed", tally)


def test_a_primary_cut_off_acknowledges_nothing_the_new_primary_lacks(
    whole: RunningCluster,
) -> None:
    before = faults.primary_node(whole.layout)
    tally = burst_through(whole, "primary-cut-off", cut_primary)
    # Checked above while the old primary was still cut off; it rejoins as a standby.
    assert faults.primary_node(whole.layout) != before
    restore(whole, "primary-cut-off", tally)


def test_a_retry_on_another_host_is_not_acknowledged_while_only_the_old_primary_has_it(
    whole: RunningCluster,
) -> None:
    """The primary cut off from its standbys, not from the API hosts (issue 19: "a primary
    cut off from its standbys"), in a quiet moment. An order waits for the standby, the
    wait is cancelled and answered 503: it is committed on the primary alone. The buyer's
    app retries with the same key, and the retry reaches the other API host, whose writer
    has had no cancelled wait. That host must not answer 201 for an order the standbys
    never got: once the primary has demoted itself and a standby is promoted, the order
    answered 201 must be there."""
    layout = whole.layout
    slug, _ = create_launches(whole, "cut-from-standbys")
    old = faults.primary_node(layout)
    hosts = [layout.api_url(node) for node in layout.api_nodes]
    faults.cut_from_peers(layout, old)
    struck = time.monotonic()
    tries: list[str] = []
    with httpx.Client(timeout=20) as client:
        headers = {"Authorization": f"Bearer {customer_token('probe')}", "Idempotency-Key": "k0"}
        while True:
            assert time.monotonic() < struck + FLOW_TIMEOUT, f"never acknowledged: {tries}"
            host = hosts[len(tries) % len(hosts)]
            try:
                answer = client.post(
                    f"{host}/api/v1/launches/{slug}/orders", headers=headers, json={"sku": MAX_SKU}
                )
            except httpx.TransportError as error:
                tries.append(f"{time.monotonic() - struck:.1f} s {host}: {error!r}")
                time.sleep(ERROR_PAUSE_SECONDS)
                continue
            tries.append(f"{time.monotonic() - struck:.1f} s {host}: {answer.status_code}")
            if answer.status_code in (200, 201):
                break
            assert answer.status_code == 503, answer.text
            time.sleep(min(float(answer.headers["retry-after"]), RETRY_CAP_SECONDS))
    order = answer.json()["id"]
    acknowledged = time.monotonic() - struck
    faults.wait_for(
        lambda: faults.leader_seen_by_others(layout, old) not in (None, old),
        FLOW_TIMEOUT,
        "a standby promoted",
    )
    new = faults.leader_seen_by_others(layout, old)
    assert new is not None
    with psycopg.connect(primary_url(whole, new), autocommit=True, connect_timeout=5) as conn:
        stored = conn.execute(
            "SELECT o.id FROM orders o JOIN launches l ON l.id = o.launch_id"
            " WHERE l.slug = %s AND o.customer = 'probe'",
            (slug,),
        ).fetchall()
    FIGURES.append(
        f"cut-from-standbys: acknowledged {acknowledged:.1f} s after the cut; {new.name}"
        f" promoted; tries: {'; '.join(tries)}"
    )
    assert stored == [(order,)], f"answered 201 with {order}, stored on {new.name}: {stored}"
    restore_only(whole, "cut-from-standbys")


def test_a_frozen_sync_standby_lets_writes_continue(whole: RunningCluster) -> None:
    tally = burst_through(whole, "standby-frozen", freeze_sync_standby)
    restore(whole, "standby-frozen", tally)


def test_etcd_losing_its_leader_keeps_the_cluster_working(whole: RunningCluster) -> None:
    tally = burst_through(whole, "etcd-member-killed", kill_etcd_leader)
    restore(whole, "etcd-member-killed", tally)
