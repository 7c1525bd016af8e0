from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import T0, Api, SettableClock, http_api, in_process, settings_for


@pytest.fixture
def clock() -> SettableClock:
    """Real time an hour after the test launch opens, moved only by the test."""
    return SettableClock(T0.replace(hour=16))


@pytest.fixture
def api(tmp_path: Path, clock: SettableClock) -> Iterator[Api]:
    """The app in-process on a real SQLite file, with a settable clock."""
    with in_process(settings_for(tmp_path / "launchday.db"), clock) as (client, _app):
        yield client


@pytest.fixture
def http(tmp_path: Path) -> Iterator[Api]:
    """The real server over loopback HTTP on a real SQLite file, on the wall clock."""
    with http_api(settings_for(tmp_path / "launchday.db")) as client:
        yield client


@pytest.fixture(params=["in_process", "loopback"])
def client(request: pytest.FixtureRequest, tmp_path: Path, clock: SettableClock) -> Iterator[Api]:
    """The same test twice: the app in-process, and the real server over loopback HTTP."""
    settings = settings_for(tmp_path / "launchday.db")
    if request.param == "in_process":
        with in_process(settings, clock) as (api, _app):
            yield api
    else:
        with http_api(settings) as api:
            yield api


# In CI every test must run: a test that skips there (a missing tool, a missing server)
# would hide a broken guarantee, so the run fails instead.
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") == "true" and _skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nCI=true: {len(_skipped)} skipped test(s) count as failures:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
