"""The launches' writes and reads."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from launchday.domain.launch import Launch


class LaunchWrites(Protocol):
    def insert_launch(self, launch: Launch, at: datetime) -> None:
        """Store a new launch (AlreadyExists if the slug is taken)."""


class LaunchReads(Protocol):
    def launch(self, slug: str) -> Launch | None:
        """The launch as created, or None."""

    def launch_slugs(self) -> list[str]:
        """All launches, newest first."""

    def variant_counts(self, launch: str) -> dict[str, tuple[int, int]]:
        """Per SKU: orders placed and orders cancelled."""

    def interest_count(self, launch: str) -> int:
        """How many customers registered interest."""
