"""Point reads: a launch, an order and its trail, the counters. Each is one indexed read."""

from __future__ import annotations

from typing import Any

from launchday.domain.clock import from_micros
from launchday.domain.launch import Launch
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import Order, OrderEvent
from launchday.store.launch_codec import decode_launch
from launchday.store.launch_ids import LaunchIds
from launchday.store.reads.session import ReadSession
from launchday.store.row_mapping import ORDER_SELECT, order_from_row
from launchday.store.sql import ReadConnection


class PointReads:
    """Reads of one launch, order or counter (implements the services' read ports)."""

    def __init__(self, session: ReadSession, ids: LaunchIds | None = None) -> None:
        self._session = session
        self._ids = ids or LaunchIds()

    def _launch_id(self, db: ReadConnection, slug: str) -> int | None:
        def lookup(name: str) -> int | None:
            row = db.one("SELECT id FROM launches WHERE slug = :slug", {"slug": name})
            return None if row is None else int(row[0])

        return self._ids.get(slug, lookup)

    def launch(self, slug: str) -> Launch | None:
        row = self._session.run(
            lambda db: db.one("SELECT spec FROM launches WHERE slug = :slug", {"slug": slug})
        )
        return None if row is None else decode_launch(bytes(row[0]))

    def launch_with_id(self, slug: str) -> tuple[int, Launch] | None:
        """The launch and its row id (the key every table files it under)."""
        row = self._session.run(
            lambda db: db.one("SELECT id, spec FROM launches WHERE slug = :slug", {"slug": slug})
        )
        return None if row is None else (int(row[0]), decode_launch(bytes(row[1])))

    def launch_slugs(self) -> list[str]:
        rows = self._session.run(lambda db: db.all("SELECT slug FROM launches ORDER BY id DESC"))
        return [row[0] for row in rows]

    def order(self, order_id: str) -> Order | None:
        row = self._session.run(
            lambda db: db.one(f"{ORDER_SELECT} WHERE o.id = :id", {"id": order_id})
        )
        return order_from_row(row) if row else None

    def order_owner(self, order_id: str) -> tuple[str, str] | None:
        row = self._session.run(
            lambda db: db.one(
                "SELECT l.slug, o.customer FROM orders o JOIN launches l ON l.id = o.launch_id"
                " WHERE o.id = :id",
                {"id": order_id},
            )
        )
        return (row[0], row[1]) if row else None

    def store_orders(self, store: str, launch: str | None, limit: int) -> list[Order]:
        """The orders a store placed (of one launch, if given), newest first."""
        where = "o.store_id = :store" + ("" if launch is None else " AND l.slug = :launch")
        rows = self._session.run(
            lambda db: db.all(
                f"{ORDER_SELECT} WHERE {where} ORDER BY o.seq DESC LIMIT :limit",
                {"store": store, "launch": launch, "limit": limit},
            )
        )
        return [order_from_row(row) for row in rows]

    def order_events(self, order_id: str) -> list[OrderEvent]:
        rows = self._session.run(
            lambda db: db.all(
                "SELECT e.at_us, e.status, e.actor, e.detail FROM order_events e"
                " JOIN orders o ON o.seq = e.order_seq WHERE o.id = :id ORDER BY e.id",
                {"id": order_id},
            )
        )
        return [OrderEvent(from_micros(r[0]), OrderStatus(r[1]), r[2], r[3]) for r in rows]

    def variant_counts(self, launch: str) -> dict[str, tuple[int, int]]:
        def read(db: ReadConnection) -> list[tuple[Any, ...]]:
            launch_id = self._launch_id(db, launch)
            # Given back counts the cancelled and the expired (not paid in time) alike.
            return db.all(
                "SELECT sku, placed, cancelled + expired FROM variants WHERE launch_id = :launch",
                {"launch": launch_id},
            )

        return {row[0]: (int(row[1]), int(row[2])) for row in self._session.run(read)}

    def interest_count(self, launch: str) -> int:
        def read(db: ReadConnection) -> int:
            launch_id = self._launch_id(db, launch)
            row = db.first(
                "SELECT count(*) FROM interest WHERE launch_id = :launch", {"launch": launch_id}
            )
            return int(row[0])

        return self._session.run(read)
