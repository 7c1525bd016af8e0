"""The launch report as a terminal reads it."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from rich.table import Table

from launchday.analytics.delivery_figures import DeliveryFigures
from launchday.analytics.payment_figures import PaymentFigures
from launchday.analytics.report import Report


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} s"


def _after(seconds: int) -> str:
    return str(timedelta(seconds=seconds))


def print_report(report: Report, console: Console) -> None:
    """Totals, milestones, who registered and bought, and the comparison if any."""
    orders = report.orders
    console.print(
        f"[b]{report.name}[/b] ({report.launch}) as of {report.as_of},"
        f" {_after(report.elapsed_seconds)} after opening"
    )
    console.print(
        f"orders {orders.total:,}: reserved {orders.by_status.reserved:,},"
        f" locked {orders.by_status.locked:,}, cancelled {orders.by_status.cancelled:,}"
        f" (refunded {report.cancellations.refunded_amount:,} {report.currency})"
    )
    console.print("by variant: " + ", ".join(f"{sku} {n:,}" for sku, n in orders.by_sku.items()))

    milestones = Table(title="milestones (launch time after opening)")
    for heading in ("after", "orders", "locked", "cancelled"):
        milestones.add_column(heading, justify="right")
    for m in report.milestones:
        milestones.add_row(
            _after(m.after_seconds), f"{m.orders:,}", f"{m.locked:,}", f"{m.cancelled:,}"
        )
    console.print(milestones)

    mix = Table(title="who")
    for heading in ("", "count", "first car of the brand", "new to the brand", "iPhone"):
        mix.add_column(heading, justify="right" if heading else "left")
    interest, buyers = report.interest, report.buyers
    mix.add_row(
        "registered interest",
        f"{interest.registrations:,}",
        _share(interest.first_car_with_brand),
        _share(interest.new_to_brand),
        _share(interest.apple_users),
    )
    mix.add_row(
        "bought",
        f"{buyers.orders:,}",
        _share(buyers.first_car_with_brand),
        _share(buyers.new_to_brand),
        _share(buyers.apple_users),
    )
    console.print(mix)

    room = report.waiting_room
    if room is not None:
        console.print(
            f"waiting room: {room.joined:,} joined, {room.admitted:,} admitted, longest queue"
            f" {room.longest_queue:,}; admission wait p50 {_secs(room.wait_p50_seconds)},"
            f" p99 {_secs(room.wait_p99_seconds)}, max {_secs(room.wait_max_seconds)}"
        )
        chance = room.second_chance
        console.print(
            f"second chance: {chance.lapsed:,} admissions lapsed; {chance.rejoined:,} came"
            f" back ({chance.kept_place:,} kept their place, {chance.back_of_queue:,} to the"
            f" back of the queue), {chance.came_back_and_ordered:,} of them then ordered"
        )

    if report.delivery is not None:
        _print_delivery(report.delivery, console)

    if report.payments is not None:
        _print_payments(report.payments, console)

    if report.compare is not None:
        compare = report.compare
        table = Table(title=f"{report.launch} against {compare.launch}")
        for heading in ("after", report.launch, compare.launch, "ratio"):
            table.add_column(heading, justify="right")
        for r in compare.orders_ratio_at:
            ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
            table.add_row(_after(r.after_seconds), f"{r.orders:,}", f"{r.other_orders:,}", ratio)
        console.print(table)
        if compare.interest_ratio is not None:
            console.print(
                f"registered interest: {compare.registrations:,} against"
                f" {compare.other_registrations:,}, {compare.interest_ratio:.2f}x"
            )


def _print_delivery(delivery: DeliveryFigures, console: Console) -> None:
    """The promises as they stand: per variant the weeks buyers are told, and the moves."""
    table = Table(title="delivery promised (weeks after ordering)")
    for heading in ("variant", "orders", "median", "90%", "earliest", "latest", "none in horizon"):
        table.add_column(heading, justify="left" if heading == "variant" else "right")
    for v in delivery.variants:
        weeks = [point.weeks for point in v.distribution]
        table.add_row(
            v.sku, f"{v.orders:,}", _weeks(v.median_weeks), _weeks(v.p90_weeks),
            _weeks(min(weeks, default=None)), _weeks(max(weeks, default=None)),
            f"{v.beyond_horizon:,}",
        )  # fmt: skip
    console.print(table)
    causes = ", ".join(f"{m.moves:,} {m.cause}" for m in delivery.moves_by_cause)
    console.print(
        f"promises moved a week or more: {delivery.moves:,}" + (f" ({causes})" if causes else "")
    )


def _weeks(value: int | None) -> str:
    return "-" if value is None else str(value)


def _print_payments(payments: PaymentFigures, console: Console) -> None:
    """Deposits through the provider: placed, paid, expired, refunds, the ledger."""
    console.print(
        f"deposits ({payments.provider}): {payments.placed:,} placed, {payments.paid:,} paid"
        f" ({payments.paid_minor:,} {payments.currency} minor units), {payments.pending:,}"
        f" pending, {payments.expired:,} expired unpaid"
    )
    console.print(
        f"refunds: {payments.refunds_sent:,} sent ({payments.refunded_minor:,}),"
        f" {payments.refunds_owed:,} owed, {payments.refunds_failed:,} failed"
    )
    if payments.ledger_holds:
        console.print("ledger: holds (the accounts sum to zero and match the orders)")
    for problem in payments.ledger_discrepancies:
        console.print(f"[red]ledger: {problem}[/red]")
