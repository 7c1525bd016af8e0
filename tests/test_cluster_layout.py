"""The shipped cluster configuration (deploy/cluster/) and what the one-machine layout
renders from it: pure, nothing started."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from launchday.cluster import Credentials, Layout, Tunings, configs

BIN_DIR = Path("/usr/lib/postgresql/15/bin")


def shipped_patroni() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(configs.shipped_text(configs.PATRONI_FILE))
    return loaded


def test_the_shipped_patroni_file_acknowledges_a_commit_only_on_two_machines() -> None:
    dcs = shipped_patroni()["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True
    assert dcs["synchronous_node_count"] == 1
    # Strict: with no standby to confirm, commits wait instead of the primary going alone.
    assert dcs["synchronous_mode_strict"] is True
    assert dcs["postgresql"]["parameters"]["synchronous_commit"] == "on"


def one_machine_timing() -> dict[str, Any]:
    tunings = Tunings()
    return {
        "ttl": tunings.ttl,
        "loop_wait": tunings.loop_wait,
        "retry_timeout": tunings.retry_timeout,
    }


@pytest.mark.parametrize(
    "timing",
    [shipped_patroni()["bootstrap"]["dcs"], one_machine_timing()],
    ids=["production", "test tunings"],
)
def test_patroni_timings_respect_its_minimums_and_rule(timing: dict[str, Any]) -> None:
    # The minimums newer Patroni releases enforce, and the rule every release documents:
    # a primary cut off from etcd demotes itself before its leader key can expire.
    assert timing["ttl"] >= 20
    assert timing["loop_wait"] >= 1
    assert timing["retry_timeout"] >= 3
    assert timing["loop_wait"] + 2 * timing["retry_timeout"] <= timing["ttl"]


def test_a_rendered_patroni_file_is_the_shipped_one_with_the_node_and_test_tunings(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path, subnet="10.231.9")
    node = layout.node("db2")
    credentials = Credentials.generate()
    shipped = configs.shipped_text(configs.PATRONI_FILE)
    rendered = yaml.safe_load(configs.patroni_config(layout, node, credentials, shipped, BIN_DIR))
    assert rendered["name"] == "db2"
    assert rendered["restapi"]["listen"] == "10.231.9.12:8008"
    assert rendered["postgresql"]["connect_address"] == "10.231.9.12:5432"
    assert rendered["postgresql"]["data_dir"] == str(tmp_path / "db2" / "data")
    assert rendered["etcd"]["hosts"] == ["10.231.9.11:2379", "10.231.9.12:2379", "10.231.9.13:2379"]
    assert all("10.0.1." not in line for line in rendered["postgresql"]["pg_hba"])
    assert "host all all 10.231.9.0/24 scram-sha-256" in rendered["postgresql"]["pg_hba"]
    dcs = rendered["bootstrap"]["dcs"]
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == (20, 2, 5)
    production = shipped_patroni()["bootstrap"]["dcs"]
    for setting in ("synchronous_mode", "synchronous_mode_strict", "synchronous_node_count"):
        assert dcs[setting] == production[setting]
    assert rendered["watchdog"]["mode"] == "off"
    assert credentials.superuser_password in str(rendered["postgresql"]["authentication"])


def test_a_rendered_etcd_file_names_the_member_and_the_three_peers(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    shipped = configs.shipped_text(configs.ETCD_FILE)
    rendered = yaml.safe_load(configs.etcd_config(layout, layout.node("db3"), shipped))
    assert rendered["name"] == "db3"
    assert rendered["advertise-client-urls"] == "http://10.231.0.13:2379"
    assert rendered["initial-cluster"].count("=http://10.231.0.") == 3


def test_the_rendered_haproxy_config_balances_every_api_host_in_each_backend(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path, api_hosts=3)
    text = configs.haproxy_config(layout, configs.shipped_text(configs.HAPROXY_FILE))
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("server ")]
    assert [s[1] for s in servers] == ["api1", "api2", "api3"] * 2
    assert [s[2] for s in servers][:3] == [
        "10.231.0.21:8000",
        "10.231.0.22:8000",
        "10.231.0.23:8000",
    ]
    assert all("check" in s for s in servers)
    assert "ssl" not in text.replace("# TLS", "")
    assert "bind 10.231.0.30:8080" in text
    assert "10.0.1." not in "\n".join(line for line in text.splitlines() if "#" not in line)


def test_haproxy_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    if shutil.which("haproxy") is None:
        pytest.skip("no haproxy here: scripts/system-packages haproxy")
    layout = Layout(tmp_path)
    path = tmp_path / "haproxy.cfg"
    path.write_text(configs.haproxy_config(layout, configs.shipped_text(configs.HAPROXY_FILE)))
    checked = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_interface_name_fits_linux_limit_of_15_bytes(tmp_path: Path) -> None:
    layout = Layout(tmp_path, prefix="abcdef", api_hosts=9)
    names = [layout.bridge] + [n.veth for n in layout.nodes] + [n.namespace for n in layout.nodes]
    assert max(len(name) for name in names) <= 15


@pytest.mark.parametrize("subnet", ["10.231", "10.231.0.0", "10.300.0", "ten.0.0"])
def test_a_layout_refuses_a_subnet_that_is_not_three_octets(tmp_path: Path, subnet: str) -> None:
    with pytest.raises(ValueError, match="subnet"):
        Layout(tmp_path, subnet=subnet)
