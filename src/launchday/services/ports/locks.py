"""What a write works on, named before it runs, so that a shared store can lock it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Lock:
    """One thing a write works on: an aggregate of a launch (`key` names which one, as a
    customer's orders are one per customer)."""

    aggregate: str
    key: str = ""


@dataclass(frozen=True, slots=True)
class WriteScope:
    """What a write function works on, named before it runs.

    A store with one writer can ignore the locks. A store shared by several server
    processes takes each of them for the transaction, all at once and in one global
    order (so that no two transactions can wait on each other), before the function
    reads anything. A transaction never spans two launches.
    """

    launch: str
    locks: tuple[Lock, ...] = ()
