"""Deposits in the report, for a launch that takes them through a payment provider:
orders placed, paid and expired unpaid, the refunds, and whether the ledger holds.

Pure: the store counts (`launchday.store.reads.payments`); this names the numbers and
checks the ledger's invariants (launchday.domain.ledger)."""

from __future__ import annotations

import msgspec

from launchday.domain.ledger import Expected, balances, discrepancies
from launchday.services.ports.payment_records import LedgerFigures

_OUT = {"frozen": True, "forbid_unknown_fields": True}


class PaymentFigures(msgspec.Struct, **_OUT):
    """`placed` counts every order, `paid` those whose deposit the provider confirmed,
    `pending` those still holding their unit unpaid, `expired` those not paid in time;
    refunds by where they stand; amounts in the currency's minor unit."""

    provider: str
    currency: str
    placed: int
    paid: int
    pending: int
    expired: int
    paid_minor: int
    refunds_sent: int
    refunds_owed: int
    refunds_failed: int
    refunded_minor: int
    ledger_holds: bool
    ledger_discrepancies: list[str]


def payment_figures(
    provider: str,
    currency: str,
    counts: dict[str, int],
    ledger: LedgerFigures,
) -> PaymentFigures:
    """From the store's counts (placed, paid, pending, expired, refunds_sent,
    refunds_owed, refunds_failed) and the ledger's figures."""
    broken = discrepancies(
        balances(ledger.totals),
        Expected(ledger.held, ledger.locked, ledger.refunds_owed, ledger.refunded, ledger.paid),
    )
    return PaymentFigures(
        provider=provider,
        currency=currency,
        placed=counts["placed"],
        paid=counts["paid"],
        pending=counts["pending"],
        expired=counts["expired"],
        paid_minor=ledger.paid,
        refunds_sent=counts["refunds_sent"],
        refunds_owed=counts["refunds_owed"],
        refunds_failed=counts["refunds_failed"],
        refunded_minor=ledger.refunded,
        ledger_holds=not broken,
        ledger_discrepancies=broken,
    )
