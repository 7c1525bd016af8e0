"""Each API host checks its clock against the database's: past the bound, /healthz
answers 503 so the load balancer takes the host out (docs/cluster.md, clock skew)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from launchday.config import ConfigError, Settings
from launchday.domain.clock_offset import ClockOffset
from launchday.wall_clock import utc_now
from tests.support import Database, in_process

T = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_the_offset_is_the_midpoint_of_the_round_trip_give_or_take_half_of_it() -> None:
    offset = ClockOffset.measured(T, T - timedelta(seconds=1.9), T + timedelta(seconds=0.2))
    assert offset.seconds == pytest.approx(2.0)
    assert offset.uncertainty == pytest.approx(0.1)
    assert offset.beyond(1.8)
    assert not offset.beyond(1.95)  # within the bound given the round trip's doubt
    behind = ClockOffset.measured(T, T + timedelta(seconds=3), T)
    assert behind.seconds == pytest.approx(-3.0)
    assert behind.beyond(0.25)


def ahead(seconds: float) -> Callable[[], datetime]:
    return lambda: utc_now() + timedelta(seconds=seconds)


def metric(text: str, name: str) -> float:
    found = [line for line in text.splitlines() if line.startswith(name + " ")]
    assert len(found) == 1, text
    return float(found[0].split()[1])


def test_a_host_two_seconds_ahead_of_the_database_is_taken_out(pg_database: Database) -> None:
    with in_process(pg_database.settings(), ahead(2.0)) as (api, _):
        health = api.get("/healthz")
        assert health.status_code == 503, health.text
        error = health.json()["error"]
        assert error["code"] == "unavailable"
        assert "+2.0" in error["message"]
        assert health.headers["Retry-After"] == "10"
        shown = metric(api.get("/metrics").text, "launchday_clock_offset_seconds")
        assert shown == pytest.approx(2.0, abs=0.1)


def test_a_host_on_time_is_healthy_and_shows_its_offset(pg_database: Database) -> None:
    with in_process(pg_database.settings(), utc_now) as (api, _):
        health = api.get("/healthz")
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok"
        shown = metric(api.get("/metrics").text, "launchday_clock_offset_seconds")
        assert abs(shown) < 0.25


def test_the_check_can_be_turned_off_and_sqlite_has_no_clock_to_check(
    pg_database: Database, sqlite_database: Database
) -> None:
    for settings in (
        pg_database.settings(max_clock_offset_seconds=None),
        sqlite_database.settings(),
    ):
        with in_process(settings, ahead(3600)) as (api, _):
            assert api.get("/healthz").status_code == 200
            assert "launchday_clock_offset_seconds 0.0" in api.get("/metrics").text


@pytest.mark.parametrize(
    ("value", "expected"), [("off", None), ("0.5", 0.5), ("", 0.25), (" 1 ", 1.0)]
)
def test_the_bound_is_read_from_the_environment(value: str, expected: float | None) -> None:
    env = {"LAUNCHDAY_MAX_CLOCK_OFFSET": value}
    assert Settings.from_env(env).max_clock_offset_seconds == expected


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan"])
def test_a_bad_bound_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="LAUNCHDAY_MAX_CLOCK_OFFSET"):
        Settings.from_env({"LAUNCHDAY_MAX_CLOCK_OFFSET": value})
