"""Where the read model's queries run: a connection and how it is kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from launchday.store.sql import ReadConnection

T = TypeVar("T")


class ReadSession(Protocol):
    """Runs reads on a connection of the session's (reconnecting if the store does)."""

    def run(self, fn: Callable[[ReadConnection], T]) -> T:
        """`fn(connection)`, on the session's connection."""

    def run_settled(self, launch: str, fn: Callable[[ReadConnection], T]) -> T:
        """`fn(connection)` once every write to `launch`'s waiting room stamped before
        this call has committed (shared stores: other processes may still be writing)."""


class OneConnection:
    """A session over one connection that the caller owns: a report's snapshot, or a
    store whose reads need nothing more (SQLite: one process writes, reads never wait)."""

    def __init__(self, db: ReadConnection) -> None:
        self.db = db

    def run(self, fn: Callable[[ReadConnection], T]) -> T:
        return fn(self.db)

    def run_settled(self, launch: str, fn: Callable[[ReadConnection], T]) -> T:
        # One process writes (or the caller reads a snapshot): nothing else is in flight.
        return fn(self.db)
