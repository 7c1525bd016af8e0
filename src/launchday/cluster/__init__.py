"""The production layout (3 etcd, 3 PostgreSQL under Patroni in synchronous mode, API
hosts behind HAProxy) on one machine, each node in a network namespace of its own, for
tests and rehearsals (docs/cluster.md).

`layout` names the nodes, addresses, ports and files; `configs` renders each daemon's
configuration from the shipped files in deploy/cluster/; `netns` makes and removes the
network; `processes` starts and stops a daemon in its namespace; `daemons` says which
run where; `readiness` and `members` ask each part whether it is ready; `one_machine`
brings the whole up and down.
"""

from launchday.cluster.credentials import Credentials
from launchday.cluster.errors import ClusterError
from launchday.cluster.layout import Layout, Tunings
from launchday.cluster.members import Member
from launchday.cluster.one_machine import RunningCluster, down, is_up, status, up

__all__ = [
    "ClusterError",
    "Credentials",
    "Layout",
    "Member",
    "RunningCluster",
    "Tunings",
    "down",
    "is_up",
    "status",
    "up",
]
