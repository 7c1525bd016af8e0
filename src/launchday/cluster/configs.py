"""Each daemon's configuration for the one-machine cluster, rendered from the production
files shipped in `deploy/cluster/`: the node's own name, addresses and paths, the
layout's subnet and the test tunings put in; everything else as shipped.

Pure but for reading the shipped files: a rendered file is returned as text. A key this
module sets must already be in the shipped file (`Shipped.replace`), so the two cannot
drift apart unnoticed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from launchday.cluster.credentials import Credentials
from launchday.cluster.layout import (
    API_PORT,
    BALANCER_PORT,
    ETCD_CLIENT_PORT,
    PATRONI_PORT,
    POSTGRES_PORT,
    PRODUCTION_SUBNET,
    STATS_PORT,
    Layout,
    Node,
)

# The repository's deploy/cluster/: launchday runs from its source tree (`pip install -e`).
SHIPPED_DIR = Path(__file__).resolve().parents[3] / "deploy" / "cluster"
ETCD_FILE = "etcd.yml"
PATRONI_FILE = "patroni.yml"
HAPROXY_FILE = "haproxy.cfg"
POST_BOOTSTRAP_FILE = "post-bootstrap.sh"

RENDERED = "# Rendered from launchday's deploy/cluster/{name}: one machine, test tunings.\n"


def shipped_text(name: str, folder: Path = SHIPPED_DIR) -> str:
    """A shipped file's text; FileNotFoundError names the folder it was looked for in."""
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"no {name} in {folder} (launchday's deploy/cluster/)")
    return path.read_text()


def replace(config: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in a loaded YAML mapping; KeyError if the shipped file lacks it."""
    *parents, last = dotted.split(".")
    here = config
    for key in parents:
        here = here[key]
    if last not in here:
        raise KeyError(f"the shipped file has no {dotted}")
    here[last] = value


def load(text: str) -> dict[str, Any]:
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise ValueError("a shipped configuration is not a mapping")
    return loaded


def dump(config: dict[str, Any], name: str) -> str:
    text: str = yaml.safe_dump(config, sort_keys=False)
    return RENDERED.format(name=name) + text


# --- etcd -----------------------------------------------------------------------------


def etcd_config(layout: Layout, node: Node, shipped: str) -> str:
    """Member `node` of the layout's three-member etcd."""
    config = load(shipped)
    client = layout.etcd_client_url(node)
    for key, value in {
        "name": node.name,
        "data-dir": str(layout.node_dir(node) / "etcd"),
        "listen-peer-urls": layout.etcd_peer_url(node),
        "listen-client-urls": f"{client},http://127.0.0.1:{ETCD_CLIENT_PORT}",
        "initial-advertise-peer-urls": layout.etcd_peer_url(node),
        "advertise-client-urls": client,
        "initial-cluster": layout.etcd_initial_cluster,
        "quota-backend-bytes": layout.tunings.etcd_quota_bytes,
    }.items():
        replace(config, key, value)
    return dump(config, ETCD_FILE)


# --- Patroni --------------------------------------------------------------------------


def patroni_config(
    layout: Layout, node: Node, credentials: Credentials, shipped: str, bin_dir: Path
) -> str:
    """Patroni on database node `node`: its PostgreSQL in the node's folder."""
    config = load(shipped)
    folder = layout.node_dir(node)
    tunings = layout.tunings
    settings: dict[str, Any] = {
        "name": node.name,
        "restapi.listen": f"{node.address}:{PATRONI_PORT}",
        "restapi.connect_address": f"{node.address}:{PATRONI_PORT}",
        "restapi.authentication.password": credentials.restapi_password,
        "etcd.hosts": [f"{n.address}:{ETCD_CLIENT_PORT}" for n in layout.databases],
        "bootstrap.dcs.ttl": tunings.ttl,
        "bootstrap.dcs.loop_wait": tunings.loop_wait,
        "bootstrap.dcs.retry_timeout": tunings.retry_timeout,
        "bootstrap.dcs.primary_start_timeout": tunings.primary_start_timeout,
        "bootstrap.post_bootstrap": str(layout.run_dir / POST_BOOTSTRAP_FILE),
        "postgresql.listen": f"{node.address},127.0.0.1:{POSTGRES_PORT}",
        "postgresql.connect_address": f"{node.address}:{POSTGRES_PORT}",
        "postgresql.data_dir": str(folder / "data"),
        "postgresql.bin_dir": str(bin_dir),
        "postgresql.pgpass": str(folder / "pgpass"),
        "postgresql.authentication.superuser.password": credentials.superuser_password,
        "postgresql.authentication.replication.password": credentials.replication_password,
        "postgresql.authentication.rewind.password": credentials.rewind_password,
        # Each node's socket in its own folder: the three share one file system.
        "postgresql.parameters.unix_socket_directories": str(folder),
        # One kernel runs every node: a watchdog reset would reboot the whole machine.
        "watchdog.mode": "off",
    }
    parameters = "bootstrap.dcs.postgresql.parameters"
    settings |= {
        f"{parameters}.shared_buffers": tunings.shared_buffers,
        f"{parameters}.effective_cache_size": tunings.shared_buffers,
        f"{parameters}.max_connections": tunings.max_connections,
        f"{parameters}.max_wal_size": tunings.max_wal_size,
        f"{parameters}.max_slot_wal_keep_size": tunings.max_slot_wal_keep_size,
        f"{parameters}.wal_sender_timeout": tunings.wal_sender_timeout,
        f"{parameters}.wal_receiver_timeout": tunings.wal_sender_timeout,
    }
    for dotted, value in settings.items():
        replace(config, dotted, value)
    hba = config["postgresql"]["pg_hba"]
    config["postgresql"]["pg_hba"] = [on_subnet(line, layout) for line in hba]
    # PostgreSQL's own log beside Patroni's, in the node's folder.
    config["postgresql"]["parameters"] |= {
        "logging_collector": "on",
        "log_directory": str(folder),
        "log_filename": "postgresql.log",
    }
    return dump(config, PATRONI_FILE)


def on_subnet(text: str, layout: Layout) -> str:
    """`text` with the shipped files' example subnet swapped for the layout's."""
    return text.replace(f"{PRODUCTION_SUBNET}.", f"{layout.subnet}.")


# --- HAProxy --------------------------------------------------------------------------

# What the global section runs with on one machine: no chroot or user switch (the
# run folder is the state), logs to HAProxy's own output (its log file), and a
# connection limit a test machine's file descriptors allow.
GLOBAL_DROPPED = ("user", "group", "chroot")
BALANCER_MAXCONN = 4096


def haproxy_config(layout: Layout, shipped: str) -> str:
    """HAProxy on the balancer node, in front of the layout's API hosts, without TLS."""
    out: list[str] = [RENDERED.format(name=HAPROXY_FILE).rstrip("\n")]
    section = ""
    servers_written: set[str] = set()
    for line in shipped.splitlines():
        words = line.split()
        keyword = words[0] if words and not words[0].startswith("#") else ""
        if line[:1].strip() and keyword:
            section = line.strip()
        indent = "    "
        if section == "global":
            if keyword in GLOBAL_DROPPED:
                continue
            if keyword == "log":
                line = f"{indent}log stdout format raw local0"
            elif keyword == "stats":
                socket = layout.run_dir / "haproxy.sock"
                line = f"{indent}stats socket {socket} mode 600 level admin"
            elif keyword == "maxconn":
                line = f"{indent}maxconn {BALANCER_MAXCONN}"
        elif section.startswith("frontend"):
            if keyword == "bind":
                if "ssl" in words:
                    continue  # TLS ends at the production balancer; here plain HTTP
                port = STATS_PORT if section == "frontend stats" else BALANCER_PORT
                line = f"{indent}bind {layout.balancer.address}:{port}"
            elif keyword == "http-request" and "redirect" in words:
                continue
            elif keyword == "maxconn":
                line = f"{indent}maxconn {BALANCER_MAXCONN - 96}"
        elif section.startswith("backend") and keyword == "server":
            # The shipped servers' options (check, maxconn) for each of the layout's hosts.
            if section not in servers_written:
                servers_written.add(section)
                options = " ".join(words[3:])
                out += [
                    f"{indent}server {n.name} {n.address}:{API_PORT} {options}".rstrip()
                    for n in layout.api_nodes
                ]
            continue
        out.append(line)
    return "\n".join(out) + "\n"
