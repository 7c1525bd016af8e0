"""A throwaway PostgreSQL server for tests and benchmarks: Debian's binaries, our own data.

`initdb` a fresh cluster in a temporary folder, start it on a free loopback port with
trust authentication, and hand out a fresh database per test. The cluster is ours, so
a test may kill it with SIGKILL and start it again, as a crash would. fsync stays on: a
durability test against a server that does not sync would prove nothing.

PostgreSQL refuses to run as root; as root the cluster runs as the `postgres` user
(which Debian's package creates). `LAUNCHDAY_TEST_PG` names a server to use instead
(`postgresql://user@host:port/db`): each test then gets a database created on it.
`standby_of` makes a hot standby streaming from a cluster of ours (pg_basebackup -R).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BIN_GLOBS = ("/usr/lib/postgresql/*/bin",)


def find_bindir() -> Path | None:
    """The folder with initdb and pg_ctl: pg_config's answer, else Debian's layout."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    found = sorted(glob.glob(f"{BIN_GLOBS[0]}/initdb"), reverse=True)
    return Path(found[0]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    """One PostgreSQL server process on a data folder of its own."""

    def __init__(self, bindir: Path, root: Path, settings: Mapping[str, str] | None = None) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        # Server settings beyond the tests' own (`start`), e.g. a statement log.
        self.settings = dict(settings or {})
        self._user: str | None = "postgres" if os.geteuid() == 0 else None
        self._process: subprocess.Popen[bytes] | None = None

    # --- running as the right user --------------------------------------------------

    def _cmd(self, *args: str) -> list[str]:
        if self._user is None:
            return list(args)
        return ["runuser", "-u", self._user, "--", *args]

    def _give_to_user(self, path: Path) -> None:
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    # --- life cycle -------------------------------------------------------------------

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._give_to_user(self.root)
        subprocess.run(
            self._cmd(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # the cluster's first files; every commit after is synced
            ),
            check=True,
            capture_output=True,
        )

    def base_backup_of(self, primary: PgCluster) -> None:
        """Fill the data folder with a base backup of the running `primary`, set up to
        stream from it as a hot standby once started (Debian's pg_basebackup -R: the
        standby.signal and primary_conninfo; initdb's pg_hba trusts replication from
        127.0.0.1). A fast checkpoint: the backup waits for none spread over minutes."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._give_to_user(self.root)
        subprocess.run(
            self._cmd(
                str(self.bindir / "pg_basebackup"),
                "-D",
                str(self.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-R",
                "--checkpoint=fast",
                "--wal-method=stream",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        """Start the server (in the foreground of a child process we can SIGKILL)."""
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the child keeps it
        self._give_to_user(self.root / "server.log")
        self._process = subprocess.Popen(
            self._cmd(
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.root}",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
                "-c",
                "shared_buffers=128MB",
                # Nothing writes on its own, so a test can see that a read wrote nothing.
                "-c",
                "autovacuum=off",
                *(
                    arg
                    for name, value in self.settings.items()
                    for arg in ("-c", f"{name}={value}")
                ),
            ),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.root / 'server.log').read_text()}")
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not become ready")

    def pin(self, core: int) -> int:
        """Run the server (and every backend it starts from now on) on one CPU core;
        returns the postmaster's pid."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.sched_setaffinity(pid, {core})
        return pid

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend, as a crash of the server would."""
        assert self._process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()
        self._process = None
        # The backends are in the postmaster's process group; make sure none lingers.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._pids_on_data():
            time.sleep(0.05)

    def _pids_on_data(self) -> bool:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ProcessLookupError, ValueError, IndexError):
            return False
        return True

    def stop(self, *, discard: bool = False) -> None:
        """Shut the server down; `discard`: at once, without the shutdown checkpoint
        (seconds of writes after a suite's worth of data), for a cluster deleted next."""
        if self._process is None:
            return
        # To the whole group: runuser does not pass signals on to the postmaster.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGQUIT if discard else signal.SIGINT)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        self._process = None

    # --- databases --------------------------------------------------------------------

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class PgServer:
    """Hands out fresh databases: on our own cluster, or on `LAUNCHDAY_TEST_PG`."""

    def __init__(self, admin_url: str, cluster: PgCluster | None) -> None:
        self.admin_url = admin_url
        self.cluster = cluster
        self._template: str | None = None

    def _url(self, name: str) -> str:
        return urlunparse(urlparse(self.admin_url)._replace(path=f"/{name}"))

    def create_database(self, prefix: str = "t", *, migrated: bool = True) -> str:
        """A new database; `migrated` copies one with the schema already in place (a
        copy is quicker than running the migrations for every test)."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        template = ""
        if migrated:
            template = f' TEMPLATE "{self._migrated_template()}" STRATEGY FILE_COPY'
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return self._url(name)

    def _migrated_template(self) -> str:
        if self._template is None:
            from launchday.store.migrations import migrate_postgres
            from launchday.store.postgres import connect

            url = self.create_database("template", migrated=False)
            conn = connect(url)
            try:
                migrate_postgres(conn)
            finally:
                conn.close()
            self._template = urlparse(url).path.lstrip("/")
        return self._template

    def drop_database(self, url: str) -> None:
        """Drop a test's database; on our own throwaway cluster, leave it to go with it."""
        if self.cluster is not None:
            return
        import psycopg

        name = urlparse(url).path.lstrip("/")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def pg_server() -> Iterator[PgServer | None]:
    """A PostgreSQL server for a test session, or None when none can be had here."""
    given = os.environ.get("LAUNCHDAY_TEST_PG")
    if given:
        yield PgServer(given, None)
        return
    bindir = find_bindir()
    if bindir is None or (os.geteuid() == 0 and not _has_user("postgres")):
        yield None
        return
    with own_server(bindir) as server:
        yield server


@contextlib.contextmanager
def own_server(
    bindir: Path, settings: Mapping[str, str] | None = None, prefix: str = "launchday-pg-"
) -> Iterator[PgServer]:
    """A throwaway server of our own (with these server settings), removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    cluster = PgCluster(bindir, root, settings)
    cluster.init()
    cluster.start()
    try:
        yield PgServer(cluster.admin_url, cluster)
    finally:
        cluster.stop(discard=True)
        shutil.rmtree(root, ignore_errors=True)


def standby_of(
    primary: PgCluster, root: Path, settings: Mapping[str, str] | None = None
) -> PgCluster:
    """A hot standby streaming from `primary` (running), started on a port of its own
    with its data in `root`; ready once it takes read-only queries."""
    standby = PgCluster(primary.bindir, root, {"hot_standby": "on", **(settings or {})})
    standby.base_backup_of(primary)
    standby.start()
    return standby


def can_run_clusters() -> bool:
    """Whether PostgreSQL's binaries are here (and, as root, the user to run them as)."""
    return find_bindir() is not None and (os.geteuid() != 0 or _has_user("postgres"))


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
