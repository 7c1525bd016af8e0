"""Launch slugs to their numeric ids, the key every table is filed under."""

from __future__ import annotations

from collections.abc import Callable


class LaunchIds:
    """slug -> id, cached: launches are never deleted, so a cached id stays right."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def get(self, slug: str, lookup: Callable[[str], int | None]) -> int | None:
        """The id of `slug`, asking `lookup` (one indexed read) the first time."""
        found = self._ids.get(slug)
        if found is None:
            read = lookup(slug)
            if read is None:
                return None
            found = self._ids[slug] = int(read)
        return found

    def require(self, slug: str, lookup: Callable[[str], int | None]) -> int:
        """The id of `slug`; LookupError for an unknown launch (a caller's bug)."""
        found = self.get(slug, lookup)
        if found is None:
            raise LookupError(f"unknown launch {slug!r}")
        return found
