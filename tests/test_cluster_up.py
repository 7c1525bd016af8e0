"""The production layout on one machine (`launchday.cluster`, docs/cluster.md): three
etcd members, three PostgreSQL under Patroni in synchronous mode, two API hosts behind
HAProxy, each node in a network namespace of its own. Brought up once for the module
through the API `launchday cluster up` uses, and down at its end.

Needs root and Debian's packages (scripts/system-packages); skips without them, which
CI counts as a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from launchday.cluster import RunningCluster, down
from launchday.cluster.members import leader
from launchday.cluster.one_machine import status
from tests.cluster_faults import cluster_for_tests
from tests.support import Api
from tests.test_dashboard import events

# A prefix and subnet of the tests' own, so a developer's `launchday cluster up` (prefix
# `ld`, 10.231.0.0/24) is neither found nor taken down here.
PREFIX = "ldtest"
SUBNET = "10.231.7"


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningCluster]:
    with cluster_for_tests(PREFIX, SUBNET) as running:
        yield running


def test_an_order_placed_through_haproxy_is_stored_and_read_on_either_api_host(
    cluster: RunningCluster,
) -> None:
    with httpx.Client(base_url=cluster.public_url, timeout=30) as client:
        api = Api(client.request)
        api.create_launch()
        placed = api.place("c-cluster-1")
        assert placed.status_code == 201, placed.text
        order = placed.json()
        # The same order again through the balancer is the same order (its key's replay).
        again = api.place("c-cluster-1")
        assert again.status_code in (200, 201), again.text
        assert again.json()["id"] == order["id"]
    for node in cluster.layout.api_nodes:
        with httpx.Client(base_url=cluster.layout.api_url(node), timeout=30) as client:
            api = Api(client.request)
            read = api.get(f"/api/v1/orders/{order['id']}", headers=api.as_customer("c-cluster-1"))
            assert read.status_code == 200, f"{node.name}: {read.text}"
            assert read.json()["id"] == order["id"]
    with psycopg.connect(cluster.db_url, autocommit=True) as conn:
        stored = conn.execute("SELECT count(*) FROM orders WHERE customer = 'c-cluster-1'")
        assert stored.fetchone() == (1,)


def test_the_primary_replicates_to_one_synchronous_standby(cluster: RunningCluster) -> None:
    members = status(cluster.layout)
    assert members is not None
    primary = leader(members)
    assert primary is not None, members
    superuser = (
        f"postgresql://postgres:{cluster.credentials.superuser_password}"
        f"@{primary.host}:5432/postgres"
    )
    with psycopg.connect(superuser, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        states = [
            row[0] for row in conn.execute("SELECT sync_state FROM pg_stat_replication ORDER BY 1")
        ]
        commit = conn.execute("SHOW synchronous_commit").fetchone()
    assert states == ["async", "sync"], states
    assert commit == ("on",)


def test_status_names_one_leader(cluster: RunningCluster) -> None:
    layout = cluster.layout
    command = ["cluster", "status", "--prefix", PREFIX, "--subnet", SUBNET]
    shown = subprocess.run(
        [sys.executable, "-m", "launchday", *command, "--dir", str(layout.run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    roles = [word for line in shown.stdout.splitlines() for word in line.replace("│", " ").split()]
    assert roles.count("leader") == 1, shown.stdout
    assert roles.count("sync_standby") == 1, shown.stdout
    assert "api1 UP" in shown.stdout, shown.stdout
    assert "api2 UP" in shown.stdout, shown.stdout


def test_the_live_stream_through_haproxy_counts_orders_placed_through_either_host(
    cluster: RunningCluster,
) -> None:
    layout = cluster.layout
    with httpx.Client(base_url=cluster.public_url, timeout=30) as client:
        api = Api(client.request)  # the launch, unless a test before made it already
        if api.get("/api/v1/launches/yu7-2025").status_code == 404:
            api.create_launch()
    with (
        httpx.Client(base_url=cluster.public_url, timeout=30) as balanced,
        balanced.stream("GET", "/launches/yu7-2025/live") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"] == "text/event-stream"
        feed = events(stream)
        before = next(feed)["orders"]["placed"]
        for n, node in enumerate(layout.api_nodes):  # each host takes one order directly
            with httpx.Client(base_url=layout.api_url(node), timeout=30) as direct:
                placed = Api(direct.request).place(f"c-live-{n}")
                assert placed.status_code == 201, placed.text
        wanted = before + len(layout.api_nodes)
        for _ in range(30):  # an event a second
            if next(feed)["orders"]["placed"] == wanted:
                break
        else:
            raise AssertionError(f"the stream never counted {wanted} orders")
    for node in layout.api_nodes:  # and each host's own stream counts them all
        with (
            httpx.Client(base_url=layout.api_url(node), timeout=30) as direct,
            direct.stream("GET", "/launches/yu7-2025/live") as own,
        ):
            counts = events(own)
            seen = [next(counts)["orders"]["placed"] for _ in range(3)]  # a tick may lag
            assert wanted in seen, (node.name, seen)


def test_down_leaves_no_namespace_veth_bridge_or_process(cluster: RunningCluster) -> None:
    layout = cluster.layout
    down(layout)
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    assert PREFIX not in namespaces.stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    assert PREFIX not in links.stdout
    assert processes_naming(str(layout.run_dir), f"{SUBNET}.") == []
    down(layout)  # twice is harmless


def processes_naming(*needles: str) -> list[str]:
    """Command lines of running processes that contain any of `needles`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if any(needle in command for needle in needles):
            found.append(f"{entry.name}: {command}")
    return found
