"""The one-machine cluster's layout: which nodes there are, their namespaces, addresses,
ports and files, and the test tunings that set it apart from the production files.

Pure: nothing here touches the machine. The host numbers are those of the shipped
production files (database hosts .11-.13, API hosts .21 and up, the balancer .30), on a
private /24 of the layout's own, so a rendered file differs from a shipped one only in
the subnet, the node and the test tunings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
POSTGRES_PORT = 5432
PATRONI_PORT = 8008
API_PORT = 8000
BALANCER_PORT = 8080
STATS_PORT = 8404

DATABASE = "launchday"
DATABASE_USER = "launchday"
# Debian's postgresql package creates this user; PostgreSQL refuses to run as root.
POSTGRES_OS_USER = "postgres"

# A private /24 no default route of this machine uses (`ip route` shows 192.0.2.0/24 on
# the development machines); `--subnet` picks another.
DEFAULT_SUBNET = "10.231.0"
DEFAULT_PREFIX = "ld"
# The shipped files' own subnet: the example addresses docs/cluster.md describes.
PRODUCTION_SUBNET = "10.0.1"


class Role(StrEnum):
    DATABASE = "database"
    API = "api"
    BALANCER = "balancer"


@dataclass(frozen=True, slots=True)
class Node:
    """One machine of the production layout: here a network namespace."""

    name: str
    """`db1`, `api1`, `lb`: the Patroni and etcd member name, the server name in HAProxy."""
    role: Role
    address: str
    namespace: str
    veth: str
    """The root namespace's end of the node's veth pair (the node's end is `eth0`)."""


@dataclass(frozen=True, slots=True)
class Tunings:
    """What the one-machine cluster sets differently from the shipped production files,
    so that it starts, elects and fails over in seconds on two cores and little memory.
    These are test tunings: docs/cluster.md says why production keeps its own values."""

    ttl: int = 20
    """Seconds before a silent primary's leader key expires. Newer Patroni releases refuse
    less than 20 (3.0.2 does not check); a dead primary is replaced within ~20 s."""
    loop_wait: int = 2
    """Seconds between Patroni's cycles (at least 1): a new sync standby is named, a
    demotion noticed, within 2 s."""
    retry_timeout: int = 5
    """Seconds of etcd or PostgreSQL errors tolerated before a primary demotes itself (at
    least 3). loop_wait + 2 * retry_timeout = 12 <= ttl = 20, as Patroni requires."""
    primary_start_timeout: int = 10
    shared_buffers: str = "16MB"
    max_connections: int = 60
    max_wal_size: str = "256MB"
    max_slot_wal_keep_size: str = "256MB"
    wal_sender_timeout: str = "5s"
    etcd_quota_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything of one one-machine cluster is: its nodes, its run folder."""

    run_dir: Path
    subnet: str = DEFAULT_SUBNET
    """The first three octets of the cluster's /24."""
    prefix: str = DEFAULT_PREFIX
    """Namespaces, veths and the bridge are named with it, so `down` finds only its own."""
    api_hosts: int = 2
    tunings: Tunings = field(default_factory=Tunings)

    def __post_init__(self) -> None:
        octets = self.subnet.split(".")
        if len(octets) != 3 or not all(o.isdigit() and int(o) < 256 for o in octets):
            raise ValueError(f"subnet {self.subnet!r}: give the first three octets, e.g. 10.231.0")
        # Interface names are at most 15 bytes: prefix + "-api9-v" must fit.
        if not (1 <= len(self.prefix) <= 6 and self.prefix.replace("-", "").isalnum()):
            raise ValueError(f"prefix {self.prefix!r}: 1 to 6 letters or digits")
        if not 1 <= self.api_hosts <= 9:
            raise ValueError("api_hosts: 1 to 9")

    # --- nodes ----------------------------------------------------------------------

    def _node(self, name: str, role: Role, host: int) -> Node:
        namespace = f"{self.prefix}-{name}"
        return Node(name, role, f"{self.subnet}.{host}", namespace, f"{namespace}-v")

    @property
    def databases(self) -> tuple[Node, ...]:
        """The three database hosts: etcd, Patroni and PostgreSQL on each."""
        return tuple(self._node(f"db{n}", Role.DATABASE, 10 + n) for n in (1, 2, 3))

    @property
    def api_nodes(self) -> tuple[Node, ...]:
        return tuple(self._node(f"api{n}", Role.API, 20 + n) for n in range(1, self.api_hosts + 1))

    @property
    def balancer(self) -> Node:
        return self._node("lb", Role.BALANCER, 30)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return (*self.databases, *self.api_nodes, self.balancer)

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    # --- the bridge -------------------------------------------------------------------

    @property
    def bridge(self) -> str:
        return f"{self.prefix}-br"

    @property
    def bridge_address(self) -> str:
        """The root namespace's address on the cluster's subnet."""
        return f"{self.subnet}.1"

    @property
    def cidr(self) -> str:
        return f"{self.subnet}.0/24"

    # --- addresses ------------------------------------------------------------------

    def etcd_client_url(self, node: Node) -> str:
        return f"http://{node.address}:{ETCD_CLIENT_PORT}"

    def etcd_peer_url(self, node: Node) -> str:
        return f"http://{node.address}:{ETCD_PEER_PORT}"

    @property
    def etcd_initial_cluster(self) -> str:
        return ",".join(f"{n.name}={self.etcd_peer_url(n)}" for n in self.databases)

    def patroni_url(self, node: Node) -> str:
        return f"http://{node.address}:{PATRONI_PORT}"

    def api_url(self, node: Node) -> str:
        return f"http://{node.address}:{API_PORT}"

    @property
    def public_url(self) -> str:
        """Where buyers reach the cluster: HAProxy's frontend."""
        return f"http://{self.balancer.address}:{BALANCER_PORT}"

    @property
    def stats_url(self) -> str:
        return f"http://{self.balancer.address}:{STATS_PORT}/stats"

    def db_url(self, password: str) -> str:
        """`LAUNCHDAY_DB` in libpq's multi-host form: the first host that takes writes."""
        hosts = ",".join(f"{n.address}:{POSTGRES_PORT}" for n in self.databases)
        return (
            f"postgresql://{DATABASE_USER}:{password}@{hosts}/{DATABASE}"
            "?target_session_attrs=read-write"
        )

    # --- files ------------------------------------------------------------------------

    def node_dir(self, node: Node) -> Path:
        return self.run_dir / node.name

    def log_file(self, node: Node, daemon: str) -> Path:
        return self.node_dir(node) / f"{daemon}.log"

    def pid_file(self, node: Node, daemon: str) -> Path:
        return self.node_dir(node) / f"{daemon}.pid"

    @property
    def credentials_file(self) -> Path:
        return self.run_dir / "credentials.json"
