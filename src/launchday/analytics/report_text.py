"""The launch report as a terminal reads it."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from rich.table import Table

from launchday.analytics.delivery_figures import DeliveryFigures
from launchday.analytics.payment_figures import PaymentFigures
from launchday.analytics.report import Report
from launchday.analytics.store_figures import StoreFigures, daily_totals

LEADERBOARD_ROWS = 5
LAST_DAYS = 7


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

    if report.stores is not None:
        _print_stores(report.stores, console)

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


def _print_stores(stores: StoreFigures, console: Console) -> None:
    """Orders by channel, the top of the store leaderboard, test drives by day, and how
    test drives and orders meet."""
    console.print(
        "orders by channel: "
        + ", ".join(f"{c.channel} {c.orders:,} ({_share(c.share)})" for c in stores.channels)
    )
    top = stores.stores[:LEADERBOARD_ROWS]
    table = Table(title=f"store leaderboard (top {len(top)} of {len(stores.stores)})")
    headings = ("store", "city", "region", "orders", "as centre", "drives booked", "done",
                "no-shows")  # fmt: skip
    for heading in headings:
        table.add_column(heading, justify="left" if heading in headings[:3] else "right")
    for s in top:
        table.add_row(
            s.name, s.city, s.region, f"{s.orders:,}", f"{s.delivery_centre_orders:,}",
            f"{s.test_drives_booked:,}", f"{s.test_drives_done:,}", f"{s.no_shows:,}",
        )  # fmt: skip
    console.print(table)
    days = daily_totals(stores.test_drive_days, LAST_DAYS)
    if days:
        console.print(
            "test drives by local date (booked/done): "
            + ", ".join(f"{day} {booked:,}/{done:,}" for day, booked, done, _ in days)
        )
    c = stores.conversion
    console.print(
        f"test drive to order within {c.window_days} days: {c.ordered_within_window:,} of"
        f" {c.test_drivers:,} buyers with a test drive done ({_share(c.ordered_share)});"
        f" orders after a test drive: {c.after_test_drive:,} of {c.orders:,} not cancelled"
        f" ({_share(c.after_test_drive_share)})"
    )
    regions = sorted(stores.regions, key=lambda r: (-r.orders, r.region))
    shown = [
        f"{r.region} {r.orders:,}"
        + ("" if r.orders_per_million is None else f" ({r.orders_per_million:.3g}/million)")
        for r in regions
        if r.orders
    ]
    if shown or stores.orders_without_region:
        console.print(
            "orders by buyer region: "
            + ", ".join([*shown, f"none given {stores.orders_without_region:,}"])
        )
