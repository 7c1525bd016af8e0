"""Query parameters read the same way by every resource."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import parse_qs

from launchday.http.errors import HttpError


def time_param(query: str, name: str) -> datetime | None:
    """A query parameter holding an RFC 3339 time with a zone; None if absent."""
    values = parse_qs(query, keep_blank_values=True).get(name)
    if not values:
        return None
    try:
        moment = datetime.fromisoformat(values[-1])
    except ValueError:
        raise HttpError("validation", f"{name} must be an RFC 3339 time", name) from None
    if moment.tzinfo is None:
        raise HttpError("validation", f"{name} needs a time zone, e.g. Z", name)
    return moment


def date_param(query: dict[str, list[str]], name: str) -> date | None:
    """A parsed query's date parameter, YYYY-MM-DD; None if absent."""
    values = query.get(name)
    if not values:
        return None
    try:
        return date.fromisoformat(values[-1])
    except ValueError:
        raise HttpError("validation", f"{name} is a date, YYYY-MM-DD", name) from None


def days_param(query: dict[str, list[str]], most: int, default: int = 14) -> int:
    """A parsed query's `days`: a whole number of days from 1 to `most`."""
    text = query.get("days", [str(default)])[-1]
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise HttpError("validation", f"days is 1 to {most}", "days")
    return int(text)
