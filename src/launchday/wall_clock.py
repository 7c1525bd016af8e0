"""The wall clock, read only at the edges (the app, the commands); everything inside is
given the time as an argument."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
