"""What the one-machine cluster needs of the machine: root (namespaces, veths, a bridge),
Debian's packages (`scripts/system-packages patroni etcd-server haproxy iproute2
postgresql`) and the postgres user they create."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
from pathlib import Path

from launchday.cluster.layout import POSTGRES_OS_USER

# Each command the cluster runs, and the Debian package that brings it.
COMMANDS = {
    "ip": "iproute2",
    "setpriv": "util-linux",
    "etcd": "etcd-server",
    "patroni": "patroni",
    "haproxy": "haproxy",
    "psql": "postgresql-client",
}


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's server binaries (Debian's layout)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def missing() -> list[str]:
    """What is missing, each said for a person; empty when the cluster can run here."""
    lacking = []
    if os.geteuid() != 0:
        lacking.append("root (network namespaces, veths and a bridge need it)")
    packages = sorted({pkg for cmd, pkg in COMMANDS.items() if shutil.which(cmd) is None})
    if postgres_bin_dir() is None:
        packages.append("postgresql")
    if packages:
        lacking.append(f"Debian packages: {' '.join(packages)} (scripts/system-packages)")
    try:
        pwd.getpwnam(POSTGRES_OS_USER)
    except KeyError:
        lacking.append(f"the {POSTGRES_OS_USER} user (Debian's postgresql package makes it)")
    return lacking
