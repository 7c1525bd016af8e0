"""Domain objects to wire types: what each response shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import msgspec

from launchday.api.bookings_wire import BookingsSpec
from launchday.api.payments_wire import PaymentOut, PaymentsSpec, RefundOut
from launchday.api.wire import (
    AdmissionOut,
    AdmissionSpec,
    DeliveryEstimate,
    DepositSpec,
    IfLockedNow,
    InterestOut,
    LaunchCounts,
    LaunchOut,
    MoneyOut,
    OrderEventOut,
    OrderHistoryOut,
    OrderOut,
    PromiseMoveOut,
    RejoinCounts,
    SetByOut,
    TicketOut,
    VariantCounts,
    VariantOut,
    spec_from_profile,
)
from launchday.domain.admission import QueueSnapshot, TicketState, TicketView
from launchday.domain.clock import rfc3339, utc
from launchday.domain.delivery_promise import Promise, SetBy
from launchday.domain.interest import Interest
from launchday.domain.launch import DepositPolicy, Launch
from launchday.domain.order import Order, OrderEvent, delivery_window
from launchday.domain.payment import Payment
from launchday.domain.quota import available
from launchday.services.delivery import Estimate
from launchday.services.launches import LaunchState, VariantTally
from launchday.services.ports.delivery import PromiseMove
from launchday.services.ports.payment_records import RefundRecord
from launchday.services.waiting_room import TicketReading


def _rfc(at: datetime | None) -> str | None:
    return rfc3339(at) if at is not None else None


def _utc(at: datetime | None) -> datetime | None:
    return utc(at) if at is not None else None


def _deposit(policy: DepositPolicy) -> DepositSpec:
    return DepositSpec(amount=policy.amount, refundable_hours=policy.refundable_hours)


def estimate_out(promise: Promise, if_locked_now: Promise | None = None) -> DeliveryEstimate:
    """A promise from the production plan as the buyer reads it."""
    # The orders of a burst are promised the same weeks, days and cause, the very same
    # objects, per variant: the wire form is kept per those objects (held here, so their
    # ids stay theirs) and only the place in the queue changes. Of what locking now
    # would promise, the buyer reads the weeks alone.
    locking = if_locked_now.weeks if if_locked_now is not None else _NOT_RESERVED
    key = (
        id(promise.weeks),
        id(promise.first_day),
        id(promise.set_by),
        id(locking),
        promise.build_week,
    )
    kept = _estimates.get(key)
    if kept is not None:
        return msgspec.structs.replace(kept[1], queue_position=promise.queue_position)
    out = _estimate_out(promise, if_locked_now)
    if len(_estimates) >= ESTIMATES_KEPT:
        _estimates.clear()
    _estimates[key] = ((promise.weeks, promise.first_day, promise.set_by, locking), out)
    return out


def _estimate_out(promise: Promise, if_locked_now: Promise | None) -> DeliveryEstimate:
    return DeliveryEstimate(
        weeks=promise_weeks(promise),
        from_=_day(promise.first_day),
        to=_day(promise.last_day),
        build_week=promise.build_week,
        queue_position=promise.queue_position,
        set_by=_set_by_out(promise.set_by),
        if_locked_now=(
            IfLockedNow(promise_weeks(if_locked_now)) if if_locked_now is not None else None
        ),
    )


# A night's burst has a few variants, each promised a few weeks in turn.
ESTIMATES_KEPT = 64
_estimates: dict[tuple[int, int, int, int, int | None], tuple[Any, DeliveryEstimate]] = {}
_NOT_RESERVED = object()  # no lock-now promise: apart from one past the horizon (None)


# Every order placed answers with its promise, whose days and cause are among a few:
# their wire forms are made once each.
@lru_cache(maxsize=1024)
def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


@lru_cache(maxsize=1024)
def _set_by_out(set_by: SetBy) -> SetByOut:
    return SetByOut(set_by.kind, set_by.id, set_by.supplier)  # type: ignore[arg-type]


def _lead_time_estimate(order: Order, launch: Launch) -> DeliveryEstimate | None:
    """Without a plan: the window the variant's fixed lead time gives, if it has one."""
    variant = launch.variant(order.sku)
    if variant.lead_weeks is None:
        return None
    # Whole weeks after the placement: every order placed on one day has the same window,
    # so each lead time's is made once a day, not once an order (and never changed).
    key = (variant.lead_weeks, order.placed_at.date())
    found = _lead_time_estimates.get(key)
    if found is None:
        window = delivery_window(order, variant)
        assert window is not None
        if len(_lead_time_estimates) >= LEAD_TIME_ESTIMATES_KEPT:
            _lead_time_estimates.clear()
        found = _lead_time_estimates[key] = DeliveryEstimate(
            weeks=list(variant.lead_weeks),
            from_=window[0].date().isoformat(),
            to=window[1].date().isoformat(),
        )
    return found


LEAD_TIME_ESTIMATES_KEPT = 1024
_lead_time_estimates: dict[tuple[tuple[int, int], date], DeliveryEstimate] = {}


def payment_out(payment: Payment, refund: RefundRecord | None = None) -> PaymentOut:
    """An order's payment as its buyer's app reads it."""
    return PaymentOut(
        provider=payment.provider,
        status=payment.status.value,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        hold_until=rfc3339(payment.hold_until),
        intent_id=payment.intent_id,
        client_secret=payment.client_secret,
        paid_at=_rfc(payment.paid_at),
        refund=None
        if refund is None
        else RefundOut(
            refund.status,  # type: ignore[arg-type]
            refund.amount_minor,
            refund.attempts,
            refund.last_error,
        ),
    )


def order_out(
    order: Order,
    launch: Launch,
    now: datetime,
    promised: Estimate | None = None,
    payment: PaymentOut | None = None,
    logistics_weeks: int = 0,
) -> OrderOut:
    """The order as of real time `now` (its status read on the launch clock), with its
    promise from the production plan (`promised`) or else its variant's lead time, and
    the `logistics_weeks` of its delivery centre added."""
    if promised is not None:
        estimate: DeliveryEstimate | None = estimate_out(promised.promise, promised.if_locked_now)
    elif order.cancelled_at is None:
        estimate = _lead_time_estimate(order, launch)
    else:
        estimate = None
    if estimate is not None and logistics_weeks:
        estimate = at_centre(estimate, logistics_weeks)
    refund = None
    if order.refund_amount is not None:
        refund = MoneyOut(order.refund_amount, launch.currency)
    return OrderOut(
        id=order.id,
        launch=order.launch,
        sku=order.sku,
        customer=order.customer,
        status=order.status_at(launch.clock(now)).value,
        deposit=MoneyOut(order.deposit_amount, launch.currency),
        placed_at=utc(order.placed_at),
        refundable_until=utc(order.refundable_until),
        sequence=order.sequence,
        locked_at=_utc(order.locked_at),
        cancelled_at=_utc(order.cancelled_at),
        refund=refund,
        delivery_estimate=estimate,
        payment=payment,
        channel=order.channel.value,
        store=order.store,
        staff=order.staff,
        delivery_centre=order.delivery_centre,
    )


def at_centre(estimate: DeliveryEstimate, weeks: int) -> DeliveryEstimate:
    """The estimate at a delivery centre `weeks` of transport from the plant."""

    def later(day: str | None) -> str | None:
        return (
            None if day is None else (date.fromisoformat(day) + timedelta(weeks=weeks)).isoformat()
        )

    locking = estimate.if_locked_now
    if locking is not None and locking.weeks is not None:
        locking = IfLockedNow([w + weeks for w in locking.weeks])
    return msgspec.structs.replace(
        estimate,
        weeks=None if estimate.weeks is None else [w + weeks for w in estimate.weeks],
        from_=later(estimate.from_),
        to=later(estimate.to),
        if_locked_now=locking,
        logistics_weeks=weeks,
    )


def order_history_out(
    order: Order,
    events: list[OrderEvent],
    moves: Sequence[PromiseMove] = (),
) -> OrderHistoryOut:
    """The order's trail: its status changes and its promise's moves, oldest first."""
    steps = [
        (e.at, OrderEventOut(at=rfc3339(e.at), status=e.status.value, by=e.by, detail=e.detail))  # type: ignore[arg-type]
        for e in events
    ]
    for move in moves:
        old = weeks_between(move.old_weeks_from, move.old_weeks_to)
        new = weeks_between(move.new_weeks_from, move.new_weeks_to)
        steps.append(
            (
                move.at,
                OrderEventOut(
                    at=rfc3339(move.at),
                    status=order.status_at(move.at).value,
                    by="production",
                    detail=f"delivery weeks {_shown(old)} -> {_shown(new)}: {move.cause}",
                    delivery=PromiseMoveOut(old, new, move.cause),
                ),
            )
        )
    steps.sort(key=lambda step: step[0])
    return OrderHistoryOut(order=order.id, events=[event for _, event in steps])


def weeks_between(first: int | None, last: int | None) -> list[int] | None:
    """A window's weeks on the wire: null when past the plan's horizon."""
    return None if first is None or last is None else [first, last]


def promise_weeks(promise: Promise) -> list[int] | None:
    return None if promise.weeks is None else list(promise.weeks)


def _shown(weeks: list[int] | None) -> str:
    return "none in the horizon" if weeks is None else f"{weeks[0]}-{weeks[1]}"


def launch_out(state: LaunchState) -> LaunchOut:
    launch = state.launch
    variants = []
    total_placed = total_cancelled = 0
    for variant in launch.variants:
        tally = state.variants.get(variant.sku, VariantTally(0, 0))
        left = available(variant.stock, tally.live)
        total_placed += tally.placed
        total_cancelled += tally.cancelled
        variants.append(
            VariantOut(
                sku=variant.sku,
                name=variant.name,
                price=variant.price,
                stock=variant.stock,
                deposit=_deposit(launch.deposit_for(variant)),
                lead_weeks=list(variant.lead_weeks) if variant.lead_weeks else None,
                counts=VariantCounts(
                    placed=tally.placed,
                    cancelled=tally.cancelled,
                    live=tally.live,
                    available=left,
                    sold_out=left == 0,
                ),
            )
        )
    admission = None
    if launch.admission is not None:
        admission = AdmissionSpec(
            launch.admission.rate_per_second,
            launch.admission.token_ttl_seconds,
            launch.admission.rejoin_grace_seconds,
        )
    return LaunchOut(
        slug=launch.slug,
        name=launch.name,
        currency=launch.currency,
        opens_at=rfc3339(launch.opens_at),
        launch_time=rfc3339(state.at),
        is_open=state.is_open,
        time_scale=launch.time_scale,
        per_customer_limit=launch.per_customer_limit,
        interest_opens_at=_rfc(launch.interest_opens_at),
        deposit=_deposit(launch.deposit),
        admission=admission,
        report_milestones=list(launch.report_milestones),
        payments=(
            PaymentsSpec(launch.payments.provider, launch.payments.hold_minutes)  # type: ignore[arg-type]
            if launch.payments is not None
            else None
        ),
        bookings=BookingsSpec(launch.bookings.per_customer, launch.bookings.hold_minutes),
        variants=variants,
        counts=LaunchCounts(
            placed=total_placed,
            cancelled=total_cancelled,
            live=total_placed - total_cancelled,
            interest=state.interest,
        ),
    )


def interest_out(interest: Interest) -> InterestOut:
    return InterestOut(
        launch=interest.launch,
        customer=interest.customer,
        registered_at=rfc3339(interest.registered_at),
        profile=spec_from_profile(interest.profile),
    )


def poll_after_seconds(view: TicketView, launch: Launch, at: datetime) -> float | None:
    """How long a waiting browser should wait before asking again, in real seconds.

    The expected wait itself when it is under a second (the browser comes back just
    as it is admitted), else half of it, up to 30 s: often enough to move on soon
    after admission, rarely enough that a million pollers cost little; a rate change
    meanwhile is caught by the next poll. The wait (from launch time `at`) is turned
    into real time on the launch's clock, which runs at `time_scale` from the opening
    on and at real speed before it: a rehearsal at x60 polls 60 times as often once
    open, and its pre-queue waits for the opening as anyone's does. None once admitted
    or expired.
    """
    if view.state is not TicketState.WAITING:
        return None
    eta = view.eta_seconds
    if eta is None:
        return 5.0
    if at >= launch.opens_at:
        real = eta / launch.time_scale
    else:  # the part of the wait before the opening passes at real speed
        before = (launch.opens_at - at).total_seconds()
        real = min(eta, before) + max(0.0, eta - before) / launch.time_scale
    wait = real if real <= 1 else min(real / 2, 30.0)
    return round(max(wait, 0.005), 3)


def ticket_out(slug: str, reading: TicketReading, poll_after: float | None) -> TicketOut:
    view, comeback = reading.view, reading.comeback
    keeps = view.keeps_place_until
    return TicketOut(
        ticket=reading.ticket.ticket,
        launch=slug,
        customer=reading.ticket.customer,
        state=view.state.value,
        pre_queue=reading.pre_queue,
        joined_at=rfc3339(reading.ticket.joined_at),
        position=view.position,
        people_ahead=view.people_ahead,
        eta_seconds=view.eta_seconds,
        poll_after_seconds=poll_after,
        admission_token=reading.admission_token,
        admitted_at=_rfc(view.admitted_at),
        expires_at=_rfc(view.expires_at),
        keeps_place_until=None if keeps is None else rfc3339(keeps),
        rejoins=0 if comeback is None else comeback.count,
        rejoined_at=None if comeback is None else _rfc(comeback.last_at),
    )


def admission_out(slug: str, snapshot: QueueSnapshot) -> AdmissionOut:
    return AdmissionOut(
        launch=slug,
        rate_per_second=snapshot.rate_per_second,
        paused=snapshot.paused,
        joined=snapshot.joined,
        admitted=snapshot.admitted,
        waiting=snapshot.waiting,
        rejoined=RejoinCounts(snapshot.rejoined_kept_place, snapshot.rejoined_back),
    )
