"""Query parameters read the same way by every resource."""

from __future__ import annotations

from datetime import datetime
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
