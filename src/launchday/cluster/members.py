"""The database members as Patroni's REST API reports them (`GET /cluster`): who leads,
who is the synchronous standby, on which timeline, how far behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from launchday.cluster.layout import Layout

LEADER = "leader"
SYNC_STANDBY = "sync_standby"
# Patroni 3.0 reports a replica's PostgreSQL as `running`; later releases say `streaming`.
REPLICATING = frozenset({"running", "streaming"})


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    role: str
    """`leader`, `sync_standby` or `replica`."""
    state: str
    host: str
    timeline: int | None
    lag: int | str | None
    """Bytes of WAL behind the leader (`unknown` when Patroni does not know); None for
    the leader."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Member:
        return cls(
            name=str(data["name"]),
            role=str(data["role"]),
            state=str(data.get("state", "")),
            host=str(data.get("host", "")),
            timeline=data.get("timeline"),
            lag=data.get("lag"),
        )


def read_members(layout: Layout, timeout: float = 1.0) -> list[Member] | None:
    """The members as the first database node that answers sees them; None if none does."""
    for node in layout.databases:
        try:
            response = httpx.get(f"{layout.patroni_url(node)}/cluster", timeout=timeout)
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            return [Member.from_json(m) for m in response.json().get("members", [])]
    return None


def leader(members: list[Member]) -> Member | None:
    """The member holding the leader key, with PostgreSQL running."""
    found = [m for m in members if m.role == LEADER and m.state == "running"]
    return found[0] if len(found) == 1 else None


def sync_standbys(members: list[Member]) -> list[Member]:
    """The synchronous standbys that replicate now."""
    return [m for m in members if m.role == SYNC_STANDBY and m.state in REPLICATING]


def replicated(members: list[Member]) -> bool:
    """One leader and at least one synchronous standby: commits can be acknowledged."""
    return leader(members) is not None and bool(sync_standbys(members))
