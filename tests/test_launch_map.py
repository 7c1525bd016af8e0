"""The launch-to-cluster map: checked when read, turned into HAProxy's routes, and those
routes followed by a real HAProxy in front of two launchday servers (each a "cluster")."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from launchday.cli import free_port
from launchday.cluster.configs import HAPROXY_FILE, shipped_text
from launchday.cluster.launch_map import LaunchMapError, read_launch_map, routes_config
from tests.support import Api, launch_body, loopback_server, settings_for

GOOD = """
[clusters.east]
api_hosts = ["127.0.0.1:{east}"]

[clusters.west]
api_hosts = ["127.0.0.1:{west}"]

[launches.yu7-2025]
cluster = "east"
host = "yu7.test"

[launches.su7-2024]
cluster = "west"
host = "su7.test"
"""


def test_a_map_places_each_launch_on_its_cluster() -> None:
    launch_map = read_launch_map(GOOD.format(east=8001, west=8002))
    assert launch_map.clusters == {"east": ("127.0.0.1:8001",), "west": ("127.0.0.1:8002",)}
    assert launch_map.cluster_of("yu7-2025") == "east"
    assert launch_map.cluster_of("su7-2024") == "west"
    assert launch_map.cluster_of("nobody") is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (('cluster = "west"', 'cluster = "north"'), "launches.su7-2024.cluster"),
        (('host = "su7.test"', 'host = "yu7.test"'), "launches.su7-2024.host"),
        (('host = "su7.test"', 'host = "SU7 test"'), "launches.su7-2024.host"),
        (('["127.0.0.1:8002"]', "[]"), "clusters.west.api_hosts"),
        (('["127.0.0.1:8002"]', '["nowhere"]'), "clusters.west.api_hosts"),
        (("[launches.su7-2024]", "[launches.SU7]"), "launches.SU7"),
        (('host = "su7.test"', 'host = "su7.test"\nweight = 2'), "launches.su7-2024"),
        (("[clusters.west]", "[clusters.west]\nregion = 1"), "clusters.west"),
        (("[launches.yu7-2025]", "[launches.yu7-2025\n"), "the file"),
    ],
)
def test_a_bad_map_is_refused_naming_the_entry(change: tuple[str, str], where: str) -> None:
    text = GOOD.format(east=8001, west=8002).replace(*change)
    with pytest.raises(LaunchMapError) as refused:
        read_launch_map(text)
    assert refused.value.where == where


def test_a_map_without_launches_or_clusters_is_refused() -> None:
    with pytest.raises(LaunchMapError, match="launches"):
        read_launch_map('[clusters.east]\napi_hosts = ["a:1"]\n')
    with pytest.raises(LaunchMapError, match="clusters"):
        read_launch_map('[launches.x]\ncluster = "east"\nhost = "x.test"\n')


def test_the_production_routes_keep_the_shipped_settings_and_route_every_launch() -> None:
    launch_map = read_launch_map(GOOD.format(east=8001, west=8002))
    config = routes_config(launch_map, shipped_text(HAPROXY_FILE))
    assert "bind :443 ssl" in config  # TLS as shipped
    assert "timeout server 15s" in config
    assert "retry-on conn-failure empty-response" in config
    for cluster, port in (("east", 8001), ("west", 8002)):
        assert f"backend launchday_api_{cluster}" in config
        assert f"backend launchday_live_{cluster}" in config
        assert f"server {cluster}-1 127.0.0.1:{port} check" in config
    assert "use_backend launchday_api_east if launch_yu7-2025" in config
    assert "use_backend launchday_live_west if live_stream launch_su7-2024" in config
    assert "backend launchday_api\n" not in config  # the shipped single pool is replaced


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """HAProxy on loopback in front of two launchday servers, one per cluster; yields its
    base URL and the two servers' databases."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("HAProxy is not installed: make system-packages installs it")
    east_db, west_db = tmp_path / "east.db", tmp_path / "west.db"
    with (
        loopback_server(settings_for(east_db)) as east,
        loopback_server(settings_for(west_db)) as west,
    ):
        ports = {name: int(url.rsplit(":", 1)[1]) for name, url in (("east", east), ("west", west))}
        port = free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(
            routes_config(
                read_launch_map(GOOD.format(**ports)),
                shipped_text(HAPROXY_FILE),
                bind=f"127.0.0.1:{port}",
            )
        )
        checked = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True)
        assert checked.returncode == 0, checked.stderr.decode()
        with (tmp_path / "haproxy.log").open("wb") as log:
            process = subprocess.Popen([haproxy, "-db", "-f", str(config)], stderr=log)
            try:
                wait_for_port(port)
                yield f"http://127.0.0.1:{port}", east_db, west_db
            finally:
                process.terminate()
                process.wait(timeout=10)


def stored(db: Path, sql: str) -> list[tuple[object, ...]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def test_each_launch_and_its_orders_go_to_its_own_cluster(
    balancer: tuple[str, Path, Path],
) -> None:
    base, east_db, west_db = balancer
    with httpx.Client(base_url=base, timeout=10) as client:

        def at(host: str) -> Api:
            return Api(lambda method, path, **kw: client.request(
                method, path, headers={"Host": host, **kw.pop("headers", {})}, **kw
            ))  # fmt: skip

        yu7, su7 = at("yu7.test"), at("su7.test")
        created = yu7.post("/api/v1/launches", json=launch_body("yu7-2025"), headers=yu7.admin())
        assert created.status_code == 201, created.text
        # A path that names the launch is routed by it, whatever the host name.
        su7_body = launch_body("su7-2024")
        assert su7.post("/api/v1/launches", json=su7_body, headers=su7.admin()).status_code == 201
        assert stored(east_db, "SELECT slug FROM launches") == [("yu7-2025",)]
        assert stored(west_db, "SELECT slug FROM launches") == [("su7-2024",)]

        order = yu7.place("c-1", slug="yu7-2025")
        assert order.status_code == 201, order.text
        other = su7.place("c-2", slug="su7-2024")
        assert other.status_code == 201, other.text
        assert stored(east_db, "SELECT customer FROM orders") == [("c-1",)]
        assert stored(west_db, "SELECT customer FROM orders") == [("c-2",)]

        path = f"/api/v1/orders/{order.json()['id']}"
        assert yu7.get(path, headers=yu7.as_customer("c-1")).status_code == 200
        # The other launch's cluster has no such order; an unknown host name reaches none.
        assert su7.get(path, headers=su7.as_customer("c-1")).status_code == 404
        nowhere = at("nowhere.test").get(path, headers=yu7.as_customer("c-1"))
        assert nowhere.status_code == 404
        assert nowhere.json()["error"]["code"] == "not_found"
        by_path = at("nowhere.test").get("/api/v1/launches/su7-2024")
        assert by_path.status_code == 200, by_path.text
        assert by_path.json()["slug"] == "su7-2024"
