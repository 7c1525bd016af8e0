"""The storage ports: what the services need, with no SQL in sight.

Writes run inside `Store.write`: the function receives a `WriteTx` and the real
time of its batch, runs on the store's single writer, and its result is returned
only after the batch holding it has committed durably. A function raising a
DomainError must do so before it writes anything (checks first, writes after),
so the rest of its batch can commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from launchday.domain.admission import RateChange
from launchday.domain.interest import Interest
from launchday.domain.launch import Launch
from launchday.domain.lifecycle import OrderStatus
from launchday.domain.order import NewOrder, Order, OrderEvent, Profile

T = TypeVar("T")


class WriteTx(Protocol):
    """The operations available inside one write transaction."""

    def insert_launch(self, launch: Launch, spec: bytes, at: datetime) -> None:
        """Store a new launch (AlreadyExists if the slug is taken)."""

    def order_by_key(self, launch: str, customer: str, key: str) -> tuple[Order, bytes] | None:
        """The order this customer placed with this idempotency key, and its request hash."""

    def live_orders_of_customer(self, launch: str, customer: str) -> int:
        """How many reserved or locked orders the customer holds in the launch."""

    def live_orders_of_variant(self, launch: str, sku: str) -> int:
        """How many reserved or locked orders the variant has."""

    def insert_order(
        self,
        launch: str,
        customer: str,
        key: str,
        request_hash: bytes,
        order_id: str,
        terms: NewOrder,
        profile: Profile | None,
    ) -> Order:
        """Store an accepted order and count it against its variant."""

    def order(self, order_id: str) -> Order | None:
        """The order with this id, read inside the transaction."""

    def set_status(
        self, order: Order, status: OrderStatus, at: datetime, refund_amount: int | None
    ) -> Order:
        """Change an order's stored status (the caller has checked the transition)."""

    def record_event(
        self, order: Order, status: OrderStatus, at: datetime, by: str, detail: str | None
    ) -> None:
        """Append to the order's audit trail."""

    def register_interest(
        self, launch: str, customer: str, at: datetime, profile: Profile
    ) -> tuple[Interest, bool]:
        """Record interest; True if new. A repeat keeps the first time, takes the new profile."""

    def import_interest(self, launch: str, records: list[tuple[str, datetime, Profile]]) -> int:
        """Upsert registrations (customer, time, profile); return how many were new.

        A customer already registered keeps the earlier time and takes the new profile.
        """

    def create_waiting_room(self, launch: str, seed: bytes) -> None:
        """Store the secret seed of a launch's waiting room."""

    def join_queue(
        self, launch: str, customer: str, ticket: str, at: datetime
    ) -> tuple[QueuedTicket, bool]:
        """The customer's ticket, created now if they have none (True if new)."""

    def rejoin_queue(self, launch: str, rejoin: QueueRejoin) -> QueueRejoin | None:
        """Record a lapsed ticket's return, with its position in the room's join order;
        None if the ticket already has a rejoin of that number (someone was first)."""

    def change_admission(self, launch: str, change: RateChange) -> None:
        """Record a change of the admission rate or a pause."""


@dataclass(frozen=True, slots=True)
class QueuedTicket:
    ticket: str
    customer: str
    joined_at: datetime
    position: int = 0
    """The ticket's place in the order joins were committed in (1, 2, ...; gaps allowed)."""


@dataclass(frozen=True, slots=True)
class QueueRejoin:
    """A lapsed ticket's return to the waiting room (see launchday.domain.rejoin)."""

    ticket: str
    customer: str
    number: int  # 1 for the ticket's first rejoin, 2 for its second, ...
    at: datetime  # launch time
    kept_place: bool  # admitted again at once; else a new place at the back
    position: int = 0
    """Its place in the room's join order, which tickets and rejoins share."""


@dataclass(frozen=True, slots=True)
class Touches:
    """What a write function reads and changes, named before it runs.

    A store with one writer can ignore it. A store shared by several server processes
    takes a lock on each of these for the transaction, all at once and in one global
    order (so that no two transactions can wait on each other), before the function
    reads anything.
    """

    launch: str
    customer: str | None = None
    """The customer's orders, limit and interest in this launch."""
    order_book: bool = False
    """The launch's order book: its stock, counters and order sequence."""
    queue: bool = False
    """The launch's waiting room: its joins, their order and its rate changes."""


@dataclass(frozen=True, slots=True)
class RoomLog:
    """A waiting room's joins, rejoins and rate changes, each in the order committed
    (joins and rejoins by position, changes by number)."""

    tickets: list[QueuedTicket]
    rejoins: list[QueueRejoin]
    changes: list[tuple[int, RateChange]]

    def joins(self) -> list[QueuedTicket | QueueRejoin]:
        """Tickets and rejoins together, in the order of their positions."""
        # Two sorted runs: Timsort merges them in one linear pass.
        entries: list[QueuedTicket | QueueRejoin] = [*self.tickets, *self.rejoins]
        entries.sort(key=lambda entry: entry.position)
        return entries


@dataclass(frozen=True, slots=True)
class StoredWaitingRoom:
    """Everything needed to rebuild a waiting room: its seed and its whole log."""

    seed: bytes
    log: RoomLog


class Reader(Protocol):
    """Reads that never wait behind the writer."""

    def launch_spec(self, slug: str) -> bytes | None:
        """The stored spec of a launch, as created."""

    def launch_slugs(self) -> list[str]:
        """All launches, newest first."""

    def order(self, order_id: str) -> Order | None:
        """The order with this id."""

    def order_events(self, order_id: str) -> list[OrderEvent]:
        """The order's recorded transitions, oldest first."""

    def variant_counts(self, launch: str) -> dict[str, tuple[int, int]]:
        """Per SKU: orders placed and orders cancelled."""

    def interest_count(self, launch: str) -> int:
        """How many customers registered interest."""

    def waiting_room(self, launch: str) -> StoredWaitingRoom | None:
        """The stored waiting room of a launch, or None if it has none."""

    def waiting_room_since(
        self, launch: str, after_position: int, after_change: int, *, settled: bool = False
    ) -> RoomLog:
        """Joins and rejoins past `after_position` and rate changes past `after_change`.

        With `settled`, first wait for any join or change still being committed, so that
        nothing stamped before this call can appear later.
        """


class Store(Protocol):
    """A database: one durable writer and non-blocking readers."""

    shared: bool
    """True when other server processes write to the same database."""

    @property
    def reader(self) -> Reader:
        """Reads that see the last commit (valid once started)."""

    async def start(self) -> None:
        """Connect and apply migrations."""

    async def stop(self) -> None:
        """Finish queued writes and disconnect."""

    async def write(
        self, fn: Callable[[WriteTx, datetime], T], touches: Touches | None = None
    ) -> T:
        """Run `fn` in the next group-committed batch; return once it is on disk.

        `touches` names what `fn` works on (see `Touches`); a function without it must
        not touch rows that another process may be changing at the same time.
        """

    def pending_writes(self) -> int:
        """Writes queued but not yet committed (for overload control and metrics)."""

    async def read_in_thread(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(connection)` on a read connection of its own in a worker thread.

        For long reads such as reports, which must not hold up the event loop.
        """


class StoreUnavailable(Exception):
    """The database cannot be reached: nothing was acknowledged; retry shortly."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("the database is unavailable; retry shortly")
        self.retry_after = retry_after


class Overloaded(Exception):
    """The write queue is full: the caller should retry after a short wait."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("the order queue is full")
        self.retry_after = retry_after
