"""The writes of production and delivery inside a batch's transaction, for both databases:
a launch's plan, the orders' current promises and the record of their moves."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from launchday.domain.clock import to_micros
from launchday.services.ports.delivery import MoveUpdates, PromiseUpdates
from launchday.store.bulk_insert import PROMISE_MOVES, PROMISES, BulkInsert


class DeliveryTx:
    """Mixed into `SqlWriteTx`, whose statements it runs."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def insert_all(self, insert: BulkInsert, rows: list[tuple[Any, ...]]) -> None: ...

    @abstractmethod
    def launch_id(self, slug: str) -> int: ...

    def save_production_plan(self, launch: str, plan: bytes, at: datetime) -> int:
        """Store the launch's plan in place of any before; its version (1, 2, ...)."""
        launch_id = self.launch_id(launch)
        row = self.execute(
            "SELECT version FROM production_plans WHERE launch_id = ?", (launch_id,)
        ).fetchone()
        version = 1 if row is None else int(row[0]) + 1
        if row is None:
            self.execute(
                "INSERT INTO production_plans (launch_id, plan, version, updated_at_us)"
                " VALUES (?, ?, ?, ?)",
                (launch_id, plan, version, to_micros(at)),
            )
        else:
            self.execute(
                "UPDATE production_plans SET plan = ?, version = ?, updated_at_us = ?"
                " WHERE launch_id = ?",
                (plan, version, to_micros(at), launch_id),
            )
        return version

    def save_promises(self, launch: str, promises: PromiseUpdates, moves: MoveUpdates) -> None:
        """Keep each order's new promise and record the moves to tell its buyer about."""
        launch_id = self.launch_id(launch)
        if len(promises.order_seq):
            self.insert_all(PROMISES, [(row[0], launch_id, *row[1:]) for row in promises.rows()])
        at, cause = to_micros(moves.at), moves.cause
        moved = [(launch_id, row[0], at, cause, *row[1:]) for row in moves.rows()]
        if moved:
            self.insert_all(PROMISE_MOVES, moved)

    def forget_promises(self, launch: str, order_seqs: Sequence[int]) -> None:
        """Orders that left the queue (cancelled) hold no promise."""
        self.execute_many(
            "DELETE FROM delivery_promises WHERE order_seq = ?", [(s,) for s in order_seqs]
        )
