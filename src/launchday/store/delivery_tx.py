"""The writes of production and delivery inside a batch's transaction, for both databases:
a launch's plan, the orders' current promises and the record of their moves."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from launchday.domain.clock import to_micros
from launchday.services.ports.delivery import PromiseMove, StoredPromise


class DeliveryTx:
    """Mixed into `SqlWriteTx`, whose statements it runs."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

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

    def save_promises(
        self, launch: str, promises: Sequence[StoredPromise], moves: Sequence[PromiseMove]
    ) -> None:
        """Keep each order's new promise and record the moves to tell its buyer about."""
        launch_id = self.launch_id(launch)
        self.execute_many(
            "DELETE FROM delivery_promises WHERE order_seq = ?",
            [(p.order_seq,) for p in promises],
        )
        self.execute_many(
            "INSERT INTO delivery_promises (order_seq, launch_id, build_week, weeks_from,"
            " weeks_to, set_by_kind, set_by_id, set_by_supplier) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    p.order_seq, launch_id, p.build_week, p.weeks_from, p.weeks_to,
                    p.set_by_kind, p.set_by_id, p.set_by_supplier,
                )
                for p in promises
            ],
        )  # fmt: skip
        self.execute_many(
            "INSERT INTO delivery_changes (launch_id, order_seq, at_us, cause, old_weeks_from,"
            " old_weeks_to, new_weeks_from, new_weeks_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    launch_id, m.order_seq, to_micros(m.at), m.cause, m.old_weeks_from,
                    m.old_weeks_to, m.new_weeks_from, m.new_weeks_to,
                )
                for m in moves
            ],
        )  # fmt: skip

    def forget_promises(self, launch: str, order_seqs: Sequence[int]) -> None:
        """Orders that left the queue (cancelled) hold no promise."""
        self.execute_many(
            "DELETE FROM delivery_promises WHERE order_seq = ?", [(s,) for s in order_seqs]
        )
