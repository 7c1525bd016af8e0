"""What an order costs on the cluster, beside one PostgreSQL server, in one run.

    .venv/bin/python bench/cluster_cost.py [--seconds 20] [--buyers 64]   (as root)

Two set-ups, one after the other, each loaded by the same closed loop of buyers (each
places orders one after another, every order a new customer with its own key):

- the cluster: the production layout on one machine (`launchday.cluster`: 3 PostgreSQL
  under Patroni in strict synchronous mode, 2 API hosts, HAProxy), the buyers sending
  through HAProxy;
- one server: `launchday serve` on one PostgreSQL server (the tests' throwaway one),
  synchronous_commit on and no standby.

For each it prints the orders acknowledged per second and the CPU seconds each part
spent per order (from /proc, every process of the part's network namespace or process
tree): API hosts, the primary's PostgreSQL, the standbys' PostgreSQL, HAProxy, etcd and
Patroni. Those per-order figures are what docs/scaling.md multiplies out to a launch's
peak; the rate itself is this 2-core machine's, every part sharing its two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' PostgreSQL helper

from harness.servers import process_cpu_seconds  # noqa: E402

from launchday.api.auth import mint_customer_token  # noqa: E402
from launchday.cluster import Credentials, Layout, down, status, up  # noqa: E402
from launchday.cluster.members import leader  # noqa: E402
from launchday.cluster.prerequisites import missing  # noqa: E402
from launchday.sim.http import HttpClient  # noqa: E402

PREFIX, SUBNET = "ldcost", "10.231.6"  # names and addresses of its own
LAUNCH = {
    "slug": "cost",
    "name": "Cost of an order",
    "currency": "CNY",
    "opens_at": "2026-01-01T00:00:00Z",
    "per_customer_limit": 1,
    "deposit": {"amount": 5000, "refundable_hours": 168},
    "variants": [{"sku": "CAR", "name": "Car", "price": 250000, "stock": None}],
}
LAUNCH_BODY = json.dumps(LAUNCH).encode()
ORDER = b'{"sku": "CAR"}'
ORDERS_PATH = "/api/v1/launches/cost/orders"


def cpu_of(pids: list[int]) -> float:
    """CPU seconds the processes have used (user and system), those gone meanwhile 0."""
    total = 0.0
    for pid in pids:
        try:
            total += process_cpu_seconds(pid)
        except OSError:
            continue
    return total


def namespace_pids(namespace: str, *, named: str | None = None) -> list[int]:
    found = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    pids = [int(p) for p in found.stdout.split()]
    if named is None:
        return pids
    return [p for p in pids if _comm(p) == named]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


async def load(base: str, admin_key: str, secret: bytes, seconds: float, buyers: int) -> int:
    """Create the launch, then `buyers` buyers order for `seconds`; the orders answered 201.
    Sent with the rehearsals' own client (launchday.sim.http): httpx tops out near 400
    requests a second on one core, below what even one PostgreSQL server takes."""
    client = HttpClient(base, connections=buyers, timeout=30)
    try:
        admin = {"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"}
        status, _, body = await client.request("POST", "/api/v1/launches", LAUNCH_BODY, admin)
        if status not in (201, 409):
            raise RuntimeError(f"the launch was refused: {status} {body!r}")
        at = datetime.now(UTC)
        end = time.monotonic() + seconds
        placed = 0

        async def buyer(n: int) -> None:
            nonlocal placed
            i = 0
            while time.monotonic() < end:
                customer = f"b{n}-{i}"
                token = mint_customer_token(secret, customer, at, timedelta(hours=1))
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": customer,
                    "Content-Type": "application/json",
                }
                answer = await client.request("POST", ORDERS_PATH, ORDER, headers)
                placed += answer[0] == 201
                i += 1

        await asyncio.gather(*(buyer(n) for n in range(buyers)))
        return placed
    finally:
        await client.close()


def measured(
    parts: dict[str, Callable[[], float]], run: Callable[[], int]
) -> tuple[int, float, dict[str, float]]:
    before = {name: read() for name, read in parts.items()}
    started = time.monotonic()
    orders = run()
    wall = time.monotonic() - started
    used = {name: read() - before[name] for name, read in parts.items()}
    return orders, wall, used


@dataclass(frozen=True)
class Cost:
    orders: int
    seconds: float
    cpu_seconds: dict[str, float]  # by part


def on_cluster(seconds: float, buyers: int) -> Cost:
    run_dir = Path(tempfile.mkdtemp(prefix="launchday-cost-"))
    layout = Layout(run_dir, subnet=SUBNET, prefix=PREFIX)
    down(layout)
    credentials = Credentials.generate()
    running = up(layout, credentials, timeout=180)
    try:
        members = status(layout) or []
        primary = leader(members)
        assert primary is not None
        db = {n.name: n.namespace for n in layout.databases}
        standbys = [name for name in db if name != primary.name]
        parts: dict[str, Callable[[], float]] = {
            "API hosts": lambda: cpu_of(
                [p for n in layout.api_nodes for p in namespace_pids(n.namespace)]
            ),
            "primary PostgreSQL": lambda: cpu_of(
                namespace_pids(db[primary.name], named="postgres")
            ),
            "standbys' PostgreSQL": lambda: cpu_of(
                [p for s in standbys for p in namespace_pids(db[s], named="postgres")]
            ),
            "HAProxy": lambda: cpu_of(namespace_pids(layout.balancer.namespace)),
            "etcd and Patroni": lambda: cpu_of(
                [
                    p
                    for n in layout.databases
                    for p in namespace_pids(n.namespace)
                    if _comm(p) != "postgres"
                ]
            ),
        }
        secret = credentials.secret.encode()
        orders, wall, used = measured(
            parts,
            lambda: asyncio.run(
                load(running.public_url, credentials.admin_key, secret, seconds, buyers)
            ),
        )
    finally:
        down(layout)
    return Cost(orders, wall, used)


def on_one_server(seconds: float, buyers: int) -> Cost:
    from tests.pg_cluster import find_bindir, own_server

    bindir = find_bindir()
    assert bindir is not None, "PostgreSQL's binaries are missing"
    admin_key, secret = "cost-admin-key", b"cost-secret-of-at-least-32-bytes!!"
    with own_server(bindir) as server:
        url = server.create_database("cost")
        port = 18931
        env = {
            **os.environ,
            "LAUNCHDAY_DB": url,
            "LAUNCHDAY_ADMIN_KEY": admin_key,
            "LAUNCHDAY_SECRET": secret.decode(),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "launchday", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            assert server.cluster is not None
            postgres = _postgres_pids(server.cluster.data)
            parts: dict[str, Callable[[], float]] = {
                "API host": lambda: cpu_of([process.pid]),
                "PostgreSQL": lambda: cpu_of(postgres()),
            }
            orders, wall, used = measured(
                parts, lambda: asyncio.run(load(base, admin_key, secret, seconds, buyers))
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    return Cost(orders, wall, used)


def _postgres_pids(data: Path) -> Callable[[], list[int]]:
    """The server's processes: the postmaster (found by its data folder) and its children."""

    def pids() -> list[int]:
        found = subprocess.run(["pgrep", "-f", "--", f"-D {data}"], capture_output=True, text=True)
        roots = [int(p) for p in found.stdout.split()]
        children = subprocess.run(
            ["pgrep", "-P", ",".join(map(str, roots))], capture_output=True, text=True
        )
        return roots + [int(p) for p in children.stdout.split()]

    return pids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--buyers", type=int, default=64)
    args = parser.parse_args()
    lacking = missing()
    if lacking:
        raise SystemExit("the cluster needs " + "; ".join(lacking))
    results = {
        "cluster": on_cluster(args.seconds, args.buyers),
        "one server": on_one_server(args.seconds, args.buyers),
    }
    for name, cost in results.items():
        rate = cost.orders / cost.seconds
        print(f"{name}: {cost.orders:,} orders in {cost.seconds:.1f} s = {rate:,.0f}/s")
        for part, cpu in cost.cpu_seconds.items():
            print(f"  {part:22} {cpu / max(cost.orders, 1) * 1e6:8.0f} us CPU per order")
    out = ROOT / "bench" / "results" / "cluster-cost.json"
    out.write_text(json.dumps({k: asdict(v) for k, v in results.items()}, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
