"""Production plans, the promises queued orders hold, and the moves of those promises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from launchday.domain.promise_changes import Ints, PromiseColumns
from launchday.services.ports.locks import Lock

PRODUCTION = Lock("production")
"""A launch's plan and promises: one re-promise at a time writes them."""


@dataclass(frozen=True, slots=True)
class PromiseUpdates:
    """Promises to keep, as columns (a re-promise may change a million): per order its
    sequence, build week and weeks after placement (None past the horizon), and what
    sets them."""

    order_seq: list[int]
    build_week: list[int | None]
    weeks_from: list[int | None]
    weeks_to: list[int | None]
    set_by_kind: list[str]
    set_by_id: list[str]
    set_by_supplier: list[str | None]

    def rows(self) -> list[tuple[int, int | None, int | None, int | None, str, str, str | None]]:
        return list(
            zip(
                self.order_seq, self.build_week, self.weeks_from, self.weeks_to,
                self.set_by_kind, self.set_by_id, self.set_by_supplier, strict=True,
            )
        )  # fmt: skip

    def part(self, start: int, stop: int) -> PromiseUpdates:
        """The promises from `start` to `stop` (indexes into the columns)."""
        return PromiseUpdates(
            self.order_seq[start:stop], self.build_week[start:stop],
            self.weeks_from[start:stop], self.weeks_to[start:stop],
            self.set_by_kind[start:stop], self.set_by_id[start:stop],
            self.set_by_supplier[start:stop],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MoveUpdates:
    """Promises that moved by a week or more, as columns, all at `at` for `cause`."""

    at: datetime
    cause: str
    order_seq: list[int]
    old_weeks_from: list[int | None]
    old_weeks_to: list[int | None]
    new_weeks_from: list[int | None]
    new_weeks_to: list[int | None]

    def rows(self) -> list[tuple[int, int | None, int | None, int | None, int | None]]:
        return list(
            zip(
                self.order_seq, self.old_weeks_from, self.old_weeks_to,
                self.new_weeks_from, self.new_weeks_to, strict=True,
            )
        )  # fmt: skip

    def part(self, start: int, stop: int) -> MoveUpdates:
        """The moves from `start` to `stop` (indexes into the columns)."""
        return MoveUpdates(
            self.at, self.cause, self.order_seq[start:stop],
            self.old_weeks_from[start:stop], self.old_weeks_to[start:stop],
            self.new_weeks_from[start:stop], self.new_weeks_to[start:stop],
        )  # fmt: skip


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
class QueuedOrders:
    """A launch's live orders of some variants as the build queue needs them, as columns
    in sequence order: each one's variant (an index into the variants asked for), when
    it was placed and when it locks or locked (microseconds)."""

    seq: Ints
    sku: Ints
    placed_at_us: Ints
    locks_at_us: Ints


@dataclass(frozen=True, slots=True)
class RecordedMove:
    order: str
    move: PromiseMove


class DeliveryWrites(Protocol):
    def save_production_plan(self, launch: str, plan: bytes, at: datetime) -> int:
        """Store the launch's plan in place of any before; its version."""

    def save_promises(self, launch: str, promises: PromiseUpdates, moves: MoveUpdates) -> None:
        """Keep each order's new promise; record the moves."""

    def forget_promises(self, launch: str, order_seqs: Sequence[int]) -> None:
        """Drop the promises of orders that left the queue."""


class DeliveryReads(Protocol):
    def production_plan(self, launch: str) -> tuple[bytes, int] | None:
        """The launch's plan as stored, and its version; None without one."""

    def build_queue(self, launch: str, skus: Sequence[str]) -> QueuedOrders:
        """The launch's orders of these variants that are neither cancelled nor expired."""

    def stored_promises(self, launch: str) -> PromiseColumns:
        """Each queued order's kept promise (build week and first week), by sequence."""

    def promise_moves(self, launch: str, since: datetime, limit: int) -> list[RecordedMove]:
        """The moves recorded from `since` on, oldest first."""

    def order_promise_moves(self, order_id: str) -> list[PromiseMove]:
        """The moves of one order's promise, oldest first."""
