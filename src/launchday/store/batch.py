"""A batch of write functions in one transaction, the same for every database.

The writer thread (`launchday.store.group_commit`) hands each batch here. Its writes
are split by launch (no transaction spans two launches, so that launches can later
live on different servers); each group runs in one transaction through the
database's `BatchTransaction`:

- every function ran, refusals included (a `DomainError` is raised before anything is
  written, by contract): commit, and each caller gets its result or its refusal;
- a function failed in any other way: roll back, then run each function of the group
  alone, so that one bad write fails alone and the others still commit;
- the connection was lost: nobody is told yes, since whether the COMMIT landed is
  unknown; the callers get `StoreUnavailable` and a retry with the same
  Idempotency-Key finds out;
- anything else (the COMMIT itself failed): roll back; nothing of the group is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from launchday.domain.errors import DomainError
from launchday.services.ports.store import StoreUnavailable
from launchday.store.group_commit import Job, Outcome

Tx = TypeVar("Tx")


class Unexpected(Exception):
    """A write function failed with something other than a domain refusal."""


class BatchTransaction(Protocol):
    """One database's way of running jobs in a transaction (its adapter implements it)."""

    def run(self, jobs: list[Job[Any]], *, isolate: bool) -> list[Outcome]:
        """Begin, run the jobs (`apply_jobs`), write what they deferred and commit."""

    def rollback(self) -> None:
        """End a failed transaction and forget what it changed in memory."""

    def connection_lost(self, error: BaseException) -> bool:
        """Whether `error` means the connection is gone (which the adapter then drops)."""


def apply_jobs(jobs: Sequence[Job[Any]], tx: Any, now: datetime, *, isolate: bool) -> list[Outcome]:
    """Run each job's function on `tx` at real time `now`.

    Refusals are outcomes. Any other failure raises: `Unexpected` in a batch (its jobs
    are then run alone), the failure itself for a job run alone (so that its
    transaction is rolled back).
    """
    outcomes: list[Outcome] = []
    for job in jobs:
        try:
            outcomes.append((True, job.fn(tx, now)))
        except DomainError as refusal:  # raised before any write, by contract
            outcomes.append((False, refusal))
        except Exception as error:
            if isolate:
                raise
            raise Unexpected() from error
    return outcomes


class BatchCommitter:
    """Commits the writer's batches through one database's `BatchTransaction`."""

    def __init__(
        self, transaction: BatchTransaction, on_commit: Callable[[int], None] | None = None
    ) -> None:
        self._transaction = transaction
        self.on_commit = on_commit

    def commit(self, batch: list[Job[Any]]) -> list[Outcome]:
        """Each job's outcome, in order; the jobs of each launch share a transaction."""
        groups: dict[str | None, list[int]] = {}
        for index, job in enumerate(batch):
            launch = job.scope.launch if job.scope is not None else None
            groups.setdefault(launch, []).append(index)
        if len(groups) == 1:
            return self._group(batch)
        outcomes: list[Outcome] = [(False, None)] * len(batch)
        for indexes in groups.values():
            done = self._group([batch[i] for i in indexes])
            for index, outcome in zip(indexes, done, strict=True):
                outcomes[index] = outcome
        return outcomes

    def _group(self, jobs: list[Job[Any]]) -> list[Outcome]:
        try:
            outcomes = self._transaction.run(jobs, isolate=False)
        except Exception as error:
            cause = error.__cause__ if isinstance(error, Unexpected) else error
            if cause is not None and self._transaction.connection_lost(cause):
                return [(False, StoreUnavailable()) for _ in jobs]
            self._transaction.rollback()
            if isinstance(error, Unexpected):
                return [self._alone(job) for job in jobs]
            return [(False, error) for _ in jobs]
        self._committed(len(jobs))
        return outcomes

    def _alone(self, job: Job[Any]) -> Outcome:
        try:
            outcome = self._transaction.run([job], isolate=True)[0]
        except Exception as error:
            if self._transaction.connection_lost(error):
                return False, StoreUnavailable()
            self._transaction.rollback()
            return False, error
        self._committed(1)
        return outcome

    def _committed(self, writes: int) -> None:
        if self.on_commit is not None:
            self.on_commit(writes)
