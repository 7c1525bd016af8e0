"""Which cluster serves each launch, and the load balancer's routes that follow from it.

One cluster (its API hosts and its PostgreSQL) holds a launch whole: its orders, its
waiting room, its customers' limits. A brand with several launches at once, or one too
big to share, places them on different clusters with a map:

    [clusters.east]
    api_hosts = ["10.0.1.21:8000", "10.0.1.22:8000"]

    [clusters.west]
    api_hosts = ["10.0.2.21:8000"]

    [launches.yu7-2025]
    cluster = "east"
    host = "yu7.launch.example.com"

Each launch has a host name of its own, which the buyers' app and pages use for every
call: a call about an order (`/api/v1/orders/{id}`) names no launch in its path, so the
host name is what routes it. Calls whose path names the launch (`/api/v1/launches/{slug}`
and below, the dashboard's `/launches/{slug}/...`) are routed by the path too. A host
name the map does not know gets launchday's 404. `routes_config` writes the HAProxy
configuration from the shipped one (deploy/cluster/haproxy.cfg); `launchday cluster
routes MAP` prints it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any


class LaunchMapError(ValueError):
    """A map that cannot route: `where` names the entry."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


@dataclass(frozen=True, slots=True)
class LaunchPlace:
    slug: str
    cluster: str
    host: str


@dataclass(frozen=True, slots=True)
class LaunchMap:
    clusters: dict[str, tuple[str, ...]]  # cluster name -> its API hosts (host:port)
    launches: tuple[LaunchPlace, ...]

    def cluster_of(self, slug: str) -> str | None:
        return next((p.cluster for p in self.launches if p.slug == slug), None)


NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # a launch slug or a cluster name
HOST_NAME = re.compile(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)
ADDRESS = re.compile(r"[A-Za-z0-9.-]+:[0-9]{1,5}")


def read_launch_map(text: str) -> LaunchMap:
    """The map in `text` (TOML), checked: every launch on a known cluster, every host
    name for one launch only, every cluster with at least one API host."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LaunchMapError("the file", f"not TOML: {error}") from None
    _only(data, {"clusters", "launches"}, "the file")
    clusters = _clusters(_table(data, "clusters", "the file"))
    launches: list[LaunchPlace] = []
    hosts: dict[str, str] = {}
    for slug, entry in _table(data, "launches", "the file").items():
        where = f"launches.{slug}"
        if not NAME.fullmatch(slug):
            raise LaunchMapError(where, "a launch slug is lower-case letters, digits and dashes")
        if not isinstance(entry, dict):
            raise LaunchMapError(where, "expected a table with cluster and host")
        _only(entry, {"cluster", "host"}, where)
        cluster, host = entry.get("cluster"), entry.get("host")
        if not isinstance(cluster, str) or cluster not in clusters:
            raise LaunchMapError(f"{where}.cluster", f"no cluster {cluster!r} in [clusters]")
        if not isinstance(host, str) or not HOST_NAME.fullmatch(host):
            raise LaunchMapError(f"{where}.host", f"expected a lower-case host name, got {host!r}")
        if host in hosts:
            raise LaunchMapError(f"{where}.host", f"{host} already serves {hosts[host]}")
        hosts[host] = slug
        launches.append(LaunchPlace(slug, cluster, host))
    if not launches:
        raise LaunchMapError("launches", "the map places no launch")
    return LaunchMap(clusters, tuple(launches))


def _clusters(table: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    clusters: dict[str, tuple[str, ...]] = {}
    for name, entry in table.items():
        where = f"clusters.{name}"
        if not NAME.fullmatch(name):
            raise LaunchMapError(where, "a cluster name is lower-case letters, digits, dashes")
        if not isinstance(entry, dict):
            raise LaunchMapError(where, "expected a table with api_hosts")
        _only(entry, {"api_hosts"}, where)
        hosts = entry.get("api_hosts")
        if not isinstance(hosts, list) or not hosts:
            raise LaunchMapError(f"{where}.api_hosts", "expected a list of host:port, not empty")
        for host in hosts:
            if not isinstance(host, str) or not ADDRESS.fullmatch(host):
                raise LaunchMapError(f"{where}.api_hosts", f"expected host:port, got {host!r}")
        clusters[name] = tuple(hosts)
    return clusters


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    found = data.get(key)
    if not isinstance(found, dict) or not found:
        raise LaunchMapError(where, f"needs a [{key}] table with at least one entry")
    return found


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise LaunchMapError(where, f"unknown keys {', '.join(unknown)}")


# --- HAProxy ---------------------------------------------------------------------------

UNKNOWN_HOST = (
    'http-request return status 404 content-type application/json string "{\\"error\\":'
    '{\\"code\\":\\"not_found\\",\\"message\\":\\"no launch is served at this host name\\",'
    '\\"field\\":null}}"'
)
# On one machine (`bind` given): what the production global section needs that a
# rehearsal does not (a user to switch to, a chroot, syslog, an admin socket).
LOCAL_DROPPED = ("user", "group", "chroot", "stats", "log")
# Connections at once on one machine: what its file descriptors allow.
LOCAL_MAXCONN = 4096


def routes_config(launch_map: LaunchMap, shipped: str, bind: str | None = None) -> str:
    """HAProxy's configuration for the map: the shipped one's settings, a pair of
    backends (API calls, live streams) per cluster, and the frontend's rules sending
    each launch's host name and paths to its cluster. With `bind` (address:port), plain
    HTTP on that address only, for a rehearsal on one machine."""
    out: list[str] = []
    backends: dict[str, list[str]] = {}  # the shipped backends' settings, by name
    for header, lines in _sections(shipped):
        keyword = header.split()[0] if header else ""
        if keyword == "backend":
            backends[header.split()[1]] = [ln for ln in lines if _word(ln) != "server"]
            continue
        if bind is not None and header == "frontend stats":
            continue
        if bind is not None and header == "global":
            lines = [
                f"    maxconn {LOCAL_MAXCONN}" if _word(ln) == "maxconn" else ln
                for ln in lines
                if _word(ln) not in LOCAL_DROPPED
            ]
        if header == "frontend launchday":
            lines = _frontend(launch_map, lines, bind)
        out += [header, *lines] if header else lines
        if out and out[-1].strip():
            out.append("")
    for cluster, hosts in launch_map.clusters.items():
        for kind in ("api", "live"):
            shipped_backend = backends.get(f"launchday_{kind}", [])
            options = "check maxconn 4000" if kind == "api" else "check"
            out.append(f"backend launchday_{kind}_{cluster}")
            out += [ln for ln in shipped_backend if ln.strip()]
            out += [
                f"    server {cluster}-{i} {host} {options}"
                for i, host in enumerate(hosts, start=1)
            ]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _frontend(launch_map: LaunchMap, lines: list[str], bind: str | None) -> list[str]:
    kept: list[str] = []
    for line in lines:
        word = _word(line)
        if word in ("use_backend", "default_backend"):
            continue
        if bind is not None and (word == "bind" or (word == "http-request" and "redirect" in line)):
            continue
        if bind is not None and word == "maxconn":
            line = f"    maxconn {LOCAL_MAXCONN - 96}"
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    if bind is not None:
        kept.insert(0, f"    bind {bind}")
    kept.append("    # Each launch by its host name, or by a path that names it (launch_map.py).")
    acls = [f"launch_{place.slug}" for place in launch_map.launches]
    for place, acl in zip(launch_map.launches, acls, strict=True):
        kept += [
            f"    acl {acl} hdr(host),field(1,:) -i {place.host}",
            f"    acl {acl} path /api/v1/launches/{place.slug} /launches/{place.slug}",
            f"    acl {acl} path_beg /api/v1/launches/{place.slug}/ /launches/{place.slug}/",
        ]
    # Answered here, before any backend: HAProxy runs http-request rules first anyway.
    kept.append(f"    {UNKNOWN_HOST} unless {' || '.join(acls)}")
    for place, acl in zip(launch_map.launches, acls, strict=True):
        kept += [
            f"    use_backend launchday_live_{place.cluster} if live_stream {acl}",
            f"    use_backend launchday_api_{place.cluster} if {acl}",
        ]
    kept.append("")
    return kept


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """The file as (header, lines) in order; the lines before the first header first."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        if line[:1].strip() and not line.startswith("#"):
            sections.append((line.strip(), []))
        else:
            sections[-1][1].append(line)
    return sections


def _word(line: str) -> str:
    words = line.split()
    return words[0] if words and not words[0].startswith("#") else ""
