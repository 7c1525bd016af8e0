"""The deposits' double-entry ledger: every movement of money is a transfer from one
account to another, so the accounts always sum to zero.

    paid        provider_clearing  <-  deposits_held     the provider took the deposit
    locked      deposits_held      <-  deposits_locked   the window ended, or locked early
    cancelled   deposits_held      <-  refunds_payable   cancelled inside the window
    refunded    refunds_payable    <-  refunded          the provider sent the money back

(`a <- b`: `a` is debited, `b` credited.) An account's balance is its debits minus its
credits, in the currency's minor unit: `provider_clearing` is what buyers have paid in
all (an asset), `refunded` what went back to them (its contra account: what the
provider holds for the brand is the two together); `deposits_held`,
`deposits_locked` and `refunds_payable` are what the brand owes, negative.

A reserved order locks when its window ends without anything being written (see
`lifecycle`), so its `locked` transfer is written with the payment, dated the window's
end: a transfer dated later than now is scheduled, and only a scheduled transfer may be
moved (an early lock dates it now) or withdrawn (a cancellation). Balances are read as
of a moment, counting the transfers dated by then; the orders' statuses are read as of
the same moment, so the invariants hold at every moment, not only after a sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Account(StrEnum):
    PROVIDER_CLEARING = "provider_clearing"
    DEPOSITS_HELD = "deposits_held"
    DEPOSITS_LOCKED = "deposits_locked"
    REFUNDS_PAYABLE = "refunds_payable"
    REFUNDED = "refunded"


class TransferKind(StrEnum):
    PAID = "paid"
    LOCKED = "locked"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


# Each kind moves money between the same two accounts: (debit, credit).
LEGS: dict[TransferKind, tuple[Account, Account]] = {
    TransferKind.PAID: (Account.PROVIDER_CLEARING, Account.DEPOSITS_HELD),
    TransferKind.LOCKED: (Account.DEPOSITS_HELD, Account.DEPOSITS_LOCKED),
    TransferKind.CANCELLED: (Account.DEPOSITS_HELD, Account.REFUNDS_PAYABLE),
    TransferKind.REFUNDED: (Account.REFUNDS_PAYABLE, Account.REFUNDED),
}


@dataclass(frozen=True, slots=True)
class Transfer:
    """One movement of an order's deposit, `amount` in minor units, dated `at` (launch
    time). An order has at most one transfer of each kind."""

    order_id: str
    kind: TransferKind
    amount: int
    at: datetime

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("a transfer moves a positive amount")

    @property
    def debit(self) -> Account:
        return LEGS[self.kind][0]

    @property
    def credit(self) -> Account:
        return LEGS[self.kind][1]


def balances(totals: Mapping[TransferKind, int]) -> dict[Account, int]:
    """Each account's balance (debits minus credits) from the total moved by each kind."""
    result = dict.fromkeys(Account, 0)
    for kind, amount in totals.items():
        debit, credit = LEGS[kind]
        result[debit] += amount
        result[credit] -= amount
    return result


def totals_of(transfers: Iterable[Transfer], at: datetime) -> dict[TransferKind, int]:
    """The total moved by each kind of transfer dated by `at`."""
    totals = dict.fromkeys(TransferKind, 0)
    for transfer in transfers:
        if transfer.at <= at:
            totals[transfer.kind] += transfer.amount
    return totals


@dataclass(frozen=True, slots=True)
class Expected:
    """What the orders say the accounts must hold, in minor units: the deposits of paid
    orders reserved now, of paid orders locked now, of refunds owed and not yet sent, of
    refunds sent, and of every deposit ever paid."""

    held: int
    locked: int
    refunds_owed: int
    refunded: int
    paid: int


def discrepancies(balance: Mapping[Account, int], expected: Expected) -> list[str]:
    """Every way the balances break the ledger's invariants; empty when they hold."""
    found = []
    total = sum(balance.values())
    if total != 0:
        found.append(f"the accounts sum to {total}, not 0")
    for account, owed, what in (
        (Account.DEPOSITS_HELD, expected.held, "the deposits of reserved orders"),
        (Account.DEPOSITS_LOCKED, expected.locked, "the deposits of locked orders"),
        (Account.REFUNDS_PAYABLE, expected.refunds_owed, "the refunds owed"),
        (Account.REFUNDED, expected.refunded, "the refunds sent"),
    ):
        if -balance[account] != owed:
            found.append(f"{account.value} holds {-balance[account]}, {what} come to {owed}")
    if balance[Account.PROVIDER_CLEARING] != expected.paid:
        found.append(
            f"provider_clearing holds {balance[Account.PROVIDER_CLEARING]},"
            f" the deposits paid come to {expected.paid}"
        )
    return found
