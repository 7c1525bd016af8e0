"""The one-machine cluster's network: a Linux bridge in the root namespace with an
address on the cluster's /24, and one network namespace per node joined to it by a veth
pair (the node's end is its `eth0`), with `lo` up. No route leaves the subnet: the
nodes reach each other and the root namespace, nothing else.

Every name starts with the layout's prefix, so deleting finds only what it made; it is
safe to run when nothing, or only part, is there (after a crash).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from launchday.cluster.errors import ClusterError
from launchday.cluster.layout import Layout, Node

NETNS_DIR = Path("/run/netns")


class NetworkError(ClusterError):
    """An `ip` command failed."""


def ip(*args: str, check: bool = True) -> str:
    """Run `ip ARGS`; its output, or NetworkError with its message when `check`."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def create_network(layout: Layout) -> None:
    """The bridge, then each node's namespace and veth."""
    ip("link", "add", layout.bridge, "type", "bridge")
    ip("addr", "add", f"{layout.bridge_address}/24", "dev", layout.bridge)
    ip("link", "set", layout.bridge, "up")
    for node in layout.nodes:
        join(layout, node)


def join(layout: Layout, node: Node) -> None:
    """`node`'s namespace, its veth pair onto the bridge, its address."""
    ip("netns", "add", node.namespace)
    ip("link", "add", node.veth, "type", "veth", "peer", "name", "eth0", "netns", node.namespace)
    ip("link", "set", node.veth, "master", layout.bridge, "up")
    inside = ("-n", node.namespace)
    ip(*inside, "link", "set", "lo", "up")
    ip(*inside, "addr", "add", f"{node.address}/24", "dev", "eth0")
    ip(*inside, "link", "set", "eth0", "up")


def delete_network(layout: Layout) -> None:
    """Delete every namespace, veth and the bridge of `layout` that exists.

    Run after the processes in the namespaces are gone: a namespace deleted while a
    process still runs in it lives on, unnamed, until that process exits.
    """
    for namespace in namespaces(layout):
        ip("netns", "delete", namespace, check=False)
    # Deleting a namespace deletes its `eth0` and so its veth pair; a veth whose namespace
    # went first (a crash between the two steps of `join`) is deleted here.
    for link in links(layout):
        ip("link", "delete", link, check=False)


def namespaces(layout: Layout) -> list[str]:
    """The layout's namespaces that exist now."""
    listed = ip("netns", "list", check=False).split("\n")
    names = {line.split()[0] for line in listed if line.strip()}
    return [n.namespace for n in layout.nodes if n.namespace in names]


def links(layout: Layout) -> list[str]:
    """The layout's veths and bridge that exist now in the root namespace."""
    listed = ip("-o", "link", "show", check=False).splitlines()
    # `N: name@peer: <...>`: the name is the second field, before any `@`.
    names = {line.split(":")[1].strip().split("@")[0] for line in listed if ":" in line}
    ours = [n.veth for n in layout.nodes] + [layout.bridge]
    return [name for name in ours if name in names]


def pids_in(namespace: str) -> list[int]:
    """The processes whose network namespace is `namespace`."""
    out = ip("netns", "pids", namespace, check=False)
    return [int(word) for word in out.split() if word.isdigit()]
