from __future__ import annotations

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
