"""The database as the services see it: one durable writer, a read model, locks.

Writes run inside `Store.write`: the function receives the write transaction and the
real time of its batch, runs on the store's writer thread, and its result is returned
only after the batch holding it has committed durably. A function raising a
DomainError must do so before it writes anything (checks first, writes after), so
the rest of its batch can commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from launchday.services.ports.access_records import AccessReads, AccessWrites
from launchday.services.ports.clock import ClockReads
from launchday.services.ports.delivery import DeliveryReads, DeliveryWrites
from launchday.services.ports.interest import InterestWrites
from launchday.services.ports.launches import LaunchReads, LaunchWrites
from launchday.services.ports.locks import Lock, WriteScope
from launchday.services.ports.orders import OrderReads, OrderWrites
from launchday.services.ports.payment_records import PaymentReads, PaymentWrites
from launchday.services.ports.retail import RetailReads, RetailWrites
from launchday.services.ports.waiting_room import WaitingRoomReads, WaitingRoomWrites

T = TypeVar("T")


class WriteTx(
    LaunchWrites,
    OrderWrites,
    InterestWrites,
    WaitingRoomWrites,
    DeliveryWrites,
    PaymentWrites,
    AccessWrites,
    RetailWrites,
    Protocol,
):
    """Everything a write transaction offers: each aggregate's writes."""


class ReadModel(
    LaunchReads,
    OrderReads,
    WaitingRoomReads,
    DeliveryReads,
    PaymentReads,
    AccessReads,
    RetailReads,
    ClockReads,
    Protocol,
):
    """Everything the services read outside a transaction, never waiting for the writer."""


class Store(Protocol):
    """A database: one durable writer and non-blocking reads."""

    shared: bool
    """True when other server processes write to the same database."""

    @property
    def reads(self) -> ReadModel:
        """Reads that see the last commit (valid once started)."""

    async def start(self) -> None:
        """Connect and apply migrations."""

    async def stop(self) -> None:
        """Finish queued writes and disconnect."""

    async def instance_secret(self) -> bytes:
        """The token secret kept with the data, created on first use."""

    async def write(self, fn: Callable[[WriteTx, datetime], T], scope: WriteScope) -> T:
        """Run `fn` in the next group-committed batch; return once it is on disk."""

    async def read_in_thread(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(reads)` in a worker thread, on a connection of its own, for long reads
        (reports, the dashboard's ticks) that must not hold up the event loop. `reads`
        is the store's full read model (`launchday.store.reads.SnapshotReads`). Always
        the primary: it sees every commit acknowledged so far, as the delivery promises'
        re-reads and the dashboard's ticks need."""

    async def report_in_thread(self, fn: Callable[[Any], T]) -> T:
        """As `read_in_thread`, for reads that may run on a replica (the launch report):
        on PostgreSQL with a standby configured, there once it has replayed every commit
        acknowledged before the call, else on the primary; elsewhere `read_in_thread`."""

    def pending_writes(self) -> int:
        """Writes queued but not yet committed (for overload control and metrics)."""

    def set_commit_observer(self, on_commit: Callable[[int], None]) -> None:
        """Call `on_commit(writes)` after every committed transaction (writer thread)."""


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


__all__ = ["Lock", "Overloaded", "ReadModel", "Store", "StoreUnavailable", "WriteScope", "WriteTx"]
