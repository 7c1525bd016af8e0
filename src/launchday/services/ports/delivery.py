"""Production plans, the promises queued orders hold, and the moves of those promises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from launchday.domain.promise_changes import PromiseColumns
from launchday.services.ports.locks import Lock

PRODUCTION = Lock("production")
"""A launch's plan and promises: one re-promise at a time writes them."""


@dataclass(frozen=True, slots=True)
class StoredPromise:
    """An order's promise as kept: its build week and weeks after placement (None past
    the horizon) and what sets them."""

    order_seq: int
    build_week: int | None
    weeks_from: int | None
    weeks_to: int | None
    set_by_kind: str
    set_by_id: str
    set_by_supplier: str | None


@dataclass(frozen=True, slots=True)
class PromiseMove:
    """A promise that moved by a week or more, and why."""

    order_seq: int
    at: datetime
    cause: str
    old_weeks_from: int | None
    old_weeks_to: int | None
    new_weeks_from: int | None
    new_weeks_to: int | None


@dataclass(frozen=True, slots=True)
class QueuedOrderRow:
    """A live order of a launch as the build queue needs it (times in microseconds)."""

    seq: int
    id: str
    sku: str
    placed_at_us: int
    locks_at_us: int


@dataclass(frozen=True, slots=True)
class RecordedMove:
    order: str
    move: PromiseMove


class DeliveryWrites(Protocol):
    def save_production_plan(self, launch: str, plan: bytes, at: datetime) -> int:
        """Store the launch's plan in place of any before; its version."""

    def save_promises(
        self, launch: str, promises: Sequence[StoredPromise], moves: Sequence[PromiseMove]
    ) -> None:
        """Keep each order's new promise; record the moves."""

    def forget_promises(self, launch: str, order_seqs: Sequence[int]) -> None:
        """Drop the promises of orders that left the queue."""


class DeliveryReads(Protocol):
    def production_plan(self, launch: str) -> tuple[bytes, int] | None:
        """The launch's plan as stored, and its version; None without one."""

    def build_queue(self, launch: str) -> list[QueuedOrderRow]:
        """The launch's orders that are not cancelled."""

    def stored_promises(self, launch: str) -> PromiseColumns:
        """Each queued order's kept promise (build week and first week), by sequence."""

    def promise_moves(self, launch: str, since: datetime, limit: int) -> list[RecordedMove]:
        """The moves recorded from `since` on, oldest first."""
