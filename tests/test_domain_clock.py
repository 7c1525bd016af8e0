"""The launch clock: launch time against real time, and the storage and wire forms of a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchday.domain.clock import EPOCH, from_micros, launch_time, real_time, rfc3339, to_micros

OPENS_AT = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)

# Aware instants of any offset a client might send, within the years a launch can sit in.
offsets = st.builds(
    timezone, st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: timedelta(minutes=m))
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive by contract
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=offsets,
)
elapsed = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=7))
before = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365))
whole_scales = st.integers(min_value=1, max_value=1000)
fast_scales = st.floats(min_value=1, max_value=1000, allow_nan=False, allow_infinity=False)
# Up to 1000x over a week keeps launch time inside the years datetime can hold.
any_scales = st.floats(min_value=0.001, max_value=1000, allow_nan=False, allow_infinity=False)

ONE_MICROSECOND = timedelta(microseconds=1)


@given(before=before, scale=any_scales)
def test_launch_time_is_real_time_until_the_launch_opens(before: timedelta, scale: float) -> None:
    now = OPENS_AT - before
    assert launch_time(now, OPENS_AT, scale) == now
    assert real_time(now, OPENS_AT, scale) == now


@given(elapsed=elapsed, scale=whole_scales)
def test_launch_time_runs_time_scale_times_faster_after_opening(
    elapsed: timedelta, scale: int
) -> None:
    assert launch_time(OPENS_AT + elapsed, OPENS_AT, scale) == OPENS_AT + elapsed * scale


def test_an_hour_of_rehearsal_at_sixty_times_is_a_minute_of_real_time() -> None:
    assert launch_time(OPENS_AT + timedelta(minutes=1), OPENS_AT, 60) == OPENS_AT + timedelta(
        hours=1
    )
    assert real_time(OPENS_AT + timedelta(hours=1), OPENS_AT, 60) == OPENS_AT + timedelta(minutes=1)


@given(elapsed=elapsed, scale=whole_scales)
def test_real_time_is_the_exact_inverse_of_launch_time_for_whole_scales(
    elapsed: timedelta, scale: int
) -> None:
    now = OPENS_AT + elapsed
    assert real_time(launch_time(now, OPENS_AT, scale), OPENS_AT, scale) == now


@given(elapsed=elapsed, scale=fast_scales)
def test_real_time_inverts_launch_time_to_the_microsecond_for_any_scale(
    elapsed: timedelta, scale: float
) -> None:
    now = OPENS_AT + elapsed
    back = real_time(launch_time(now, OPENS_AT, scale), OPENS_AT, scale)
    assert abs(back - now) <= ONE_MICROSECOND


@given(elapsed=elapsed, scale=whole_scales)
def test_launch_time_inverts_real_time_for_whole_scales_up_to_rounding(
    elapsed: timedelta, scale: int
) -> None:
    at = OPENS_AT + elapsed
    # Real time has microsecond resolution, so a launch instant between two real ticks
    # comes back within one tick of launch time (scale microseconds).
    forth = launch_time(real_time(at, OPENS_AT, scale), OPENS_AT, scale)
    assert abs(forth - at) <= ONE_MICROSECOND * scale


@given(a=elapsed, b=elapsed, scale=any_scales)
def test_launch_time_never_runs_backwards(a: timedelta, b: timedelta, scale: float) -> None:
    early, late = sorted((a, b))
    assert launch_time(OPENS_AT + early, OPENS_AT, scale) <= launch_time(
        OPENS_AT + late, OPENS_AT, scale
    )


@given(at=instants)
def test_a_time_survives_the_round_trip_through_microseconds(at: datetime) -> None:
    back = from_micros(to_micros(at))
    assert back == at
    assert back.tzinfo is UTC


@given(us=st.integers(min_value=-(10**17) // 2, max_value=2 * 10**17))
def test_microseconds_survive_the_round_trip_through_a_time(us: int) -> None:
    assert to_micros(from_micros(us)) == us


def test_the_epoch_is_zero_microseconds_and_negative_before_it() -> None:
    assert to_micros(EPOCH) == 0
    assert to_micros(EPOCH - ONE_MICROSECOND) == -1
    assert to_micros(datetime(2026, 11, 22, 15, 0, 0, 1, tzinfo=UTC)) == 1_795_359_600_000_001


@given(at=instants)
def test_rfc3339_is_utc_with_a_z_and_reads_back_as_the_same_instant(at: datetime) -> None:
    text = rfc3339(at)
    assert text.endswith("Z")
    assert "+" not in text
    assert datetime.fromisoformat(text) == at


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (datetime(2026, 11, 22, 15, 0, tzinfo=UTC), "2026-11-22T15:00:00Z"),
        (datetime(2026, 11, 22, 15, 0, 0, 250, tzinfo=UTC), "2026-11-22T15:00:00.000250Z"),
        (
            datetime(2026, 11, 22, 23, 0, tzinfo=timezone(timedelta(hours=8))),
            "2026-11-22T15:00:00Z",
        ),
    ],
)
def test_rfc3339_gives_microseconds_only_when_there_are_some(at: datetime, text: str) -> None:
    assert rfc3339(at) == text
