"""Wire types: the JSON bodies of the API, validated and encoded by msgspec.

These same types generate `/openapi.json`, so what is documented is what is
checked. Single-field bounds live here (`Meta`); rules spanning several fields
live in the domain (`launchday.domain.launch.validate_launch`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from launchday.api.bookings_wire import BookingsSpec, StoreId
from launchday.api.payments_wire import PaymentOut, PaymentsSpec
from launchday.domain.launch import (
    Admission,
    BookingPolicy,
    DepositPolicy,
    Launch,
    PaymentPolicy,
    Variant,
)
from launchday.domain.order import Profile
from launchday.identity import MAX_CUSTOMER_ID

# Bounds that keep absurd numbers out: 10^12 whole currency units covers any price,
# a year covers any cooling-off window, and 10^9 units covers any limited run.
# Patterns end in `(?!\n)$`: msgspec matches with Python's `re.search`, where a bare `$`
# also matches before a trailing newline ("yu7\n" would pass); the look-ahead closes that
# and still reads the same in JSON Schema (ECMA-262) regexes.
Money = Annotated[int, Meta(ge=0, le=1_000_000_000_000, description="whole currency units")]
Slug = Annotated[
    str,
    Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}(?!\n)$", description="lower-case id, e.g. yu7-2025"),
]
Sku = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(?!\n)$")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
OrderStatusName = Literal["pending_payment", "reserved", "locked", "cancelled", "expired"]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}(?!\n)$", description="ISO 4217 code")]
Hours = Annotated[float, Meta(ge=0, le=8784, description="refundable window in hours")]
Stock = Annotated[int, Meta(ge=0, le=1_000_000_000)]
Weeks = Annotated[int, Meta(ge=0, le=520)]
Seconds = Annotated[int, Meta(ge=1, le=31_622_400)]
Region = Annotated[str, Meta(min_length=1, max_length=32)]
CustomerId = Annotated[str, Meta(min_length=1, max_length=MAX_CUSTOMER_ID)]
Instant = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a time zone")]

_STRICT = {"frozen": True, "forbid_unknown_fields": True, "omit_defaults": False}


class DepositSpec(msgspec.Struct, **_STRICT):
    amount: Money
    refundable_hours: Hours = 168


class VariantSpec(msgspec.Struct, **_STRICT):
    sku: Sku
    name: Name
    price: Money
    stock: Stock | None = None
    deposit: DepositSpec | None = None
    lead_weeks: Annotated[list[Weeks], Meta(min_length=2, max_length=2)] | None = None


class AdmissionSpec(msgspec.Struct, **_STRICT):
    """The waiting room: admission rate, token lifetime and the second chance.

    Times are launch seconds. A buyer whose token expired may join again: within
    `rejoin_grace_seconds` of the expiry the ticket keeps its place and is admitted
    again at once (once per place); later, or a second time, it goes to the back of the
    queue. 0 sends every lapsed ticket to the back; null (the default) is a grace as
    long as the token's lifetime.
    """

    rate_per_second: Annotated[float, Meta(gt=0, le=1_000_000)]
    token_ttl_seconds: Annotated[int, Meta(ge=1, le=31_622_400)] = 900
    rejoin_grace_seconds: Annotated[int, Meta(ge=0, le=31_622_400)] | None = None

    @property
    def grace_seconds(self) -> int:
        """The grace in force: the token's lifetime unless set."""
        if self.rejoin_grace_seconds is None:
            return self.token_ttl_seconds
        return self.rejoin_grace_seconds


class LaunchSpec(msgspec.Struct, **_STRICT):
    """The body of `POST /api/v1/launches`."""

    slug: Slug
    name: Name
    currency: Currency
    opens_at: Instant
    deposit: DepositSpec
    variants: Annotated[list[VariantSpec], Meta(min_length=1, max_length=100)]
    per_customer_limit: Annotated[int, Meta(ge=1, le=1000)] = 1
    time_scale: Annotated[float, Meta(gt=0, le=1_000_000)] = 1
    interest_opens_at: Instant | None = None
    admission: AdmissionSpec | None = None
    report_milestones: Annotated[list[Seconds], Meta(max_length=100)] = []
    payments: PaymentsSpec | None = None
    bookings: BookingsSpec = BookingsSpec()


class ProfileSpec(msgspec.Struct, **_STRICT):
    """Who a buyer is: each field optional."""

    first_car_with_brand: bool | None = None
    new_to_brand: bool | None = None
    phone: Literal["ios", "android", "other"] | None = None
    region: Region | None = None


BuyerChannel = Literal["app", "web", "partner"]


class OrderRequest(msgspec.Struct, **_STRICT):
    """The body of `POST /api/v1/launches/{slug}/orders`: the variant, and optionally the
    buyer's profile, where the buyer orders from (`app` if not said) and the delivery
    centre the car is to be collected at (it may be chosen later)."""

    sku: Sku
    profile: ProfileSpec | None = None
    channel: BuyerChannel = "app"
    delivery_centre: StoreId | None = None


class StoreOrderRequest(msgspec.Struct, **_STRICT):
    """The body of `POST /api/v1/stores/{store}/launches/{slug}/orders`: a store's staff
    order for a walk-in buyer, named by the id they sign in with."""

    customer: CustomerId
    sku: Sku
    profile: ProfileSpec | None = None
    delivery_centre: StoreId | None = None


class InterestRequest(msgspec.Struct, **_STRICT):
    """The body of `POST /api/v1/launches/{slug}/interest`."""

    profile: ProfileSpec = ProfileSpec()


class MoneyOut(msgspec.Struct, frozen=True):
    amount: int
    currency: str


class SetByOut(msgspec.Struct, frozen=True):
    """What sets the build week: the line's capacity, or a component and its supplier."""

    kind: Literal["line", "component"]
    id: str
    supplier: str | None = None


class IfLockedNow(msgspec.Struct, frozen=True):
    """The weeks a reserved order would be promised if it locked now."""

    weeks: list[int] | None


class DeliveryEstimate(msgspec.Struct, frozen=True):
    """When a build-to-order car comes: `weeks` after the order was placed (null when
    nothing in the plan's ten-year horizon builds it), `from` and `to` the window's first
    and last days. From the production plan (docs/delivery.md) when the launch has one,
    with the build week, the order's place in the build queue and what sets it; else from
    the variant's fixed `lead_weeks`, with those left null."""

    weeks: list[int] | None
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    build_week: int | None = None
    queue_position: int | None = None
    set_by: SetByOut | None = None
    if_locked_now: IfLockedNow | None = None
    logistics_weeks: int = 0  # the delivery centre's, already in `weeks`, `from`, `to`


class OrderOut(msgspec.Struct, frozen=True):
    """An order as its customer sees it."""

    id: str
    launch: str
    sku: str
    customer: str
    status: OrderStatusName
    deposit: MoneyOut
    # Times as datetimes in UTC (`utc`): msgspec writes them as RFC 3339 with a `Z`, in C,
    # a fifteenth of the time `rfc3339` takes (an order's answer carries two to four).
    placed_at: datetime
    refundable_until: datetime
    sequence: int
    locked_at: datetime | None = None
    cancelled_at: datetime | None = None
    refund: MoneyOut | None = None
    delivery_estimate: DeliveryEstimate | None = None
    payment: PaymentOut | None = None
    channel: Literal["app", "web", "store", "partner"] = "app"
    store: str | None = None  # the store that placed it
    staff: str | None = None  # who at the store placed it
    delivery_centre: str | None = None


class PromiseMoveOut(msgspec.Struct, frozen=True):
    """The delivery promise moved by a week or more: the weeks before and after (null:
    past the plan's horizon), and why."""

    old_weeks: list[int] | None
    new_weeks: list[int] | None
    cause: str


class OrderEventOut(msgspec.Struct, frozen=True):
    """One recorded step of an order, in launch time: a change of status (by the
    customer, or the window's end), or a move of its delivery promise (by production;
    `status` is then the order's status at that time)."""

    at: str
    status: OrderStatusName
    by: Literal["customer", "window", "production", "payment"]
    detail: str | None = None
    delivery: PromiseMoveOut | None = None


class OrderHistoryOut(msgspec.Struct, frozen=True):
    order: str
    events: list[OrderEventOut]


class VariantCounts(msgspec.Struct, frozen=True):
    placed: int
    cancelled: int
    live: int
    available: int | None
    sold_out: bool


class VariantOut(msgspec.Struct, frozen=True):
    sku: str
    name: str
    price: int
    stock: int | None
    deposit: DepositSpec
    lead_weeks: list[int] | None
    counts: VariantCounts


class LaunchCounts(msgspec.Struct, frozen=True):
    placed: int
    cancelled: int
    live: int
    interest: int


class LaunchOut(msgspec.Struct, frozen=True):
    """A launch with its variants and live counts."""

    slug: str
    name: str
    currency: str
    opens_at: str
    launch_time: str
    is_open: bool
    time_scale: float
    per_customer_limit: int
    interest_opens_at: str | None
    deposit: DepositSpec
    admission: AdmissionSpec | None
    report_milestones: list[int]
    payments: PaymentsSpec | None
    bookings: BookingsSpec
    variants: list[VariantOut]
    counts: LaunchCounts


class LaunchSummary(msgspec.Struct, frozen=True):
    slug: str
    name: str
    opens_at: str


class LaunchList(msgspec.Struct, frozen=True):
    launches: list[LaunchSummary]


class InterestRecord(msgspec.Struct, **_STRICT):
    """One line of `POST .../interest/import` (NDJSON: one JSON object per line)."""

    customer: Annotated[str, Meta(min_length=1, max_length=128)]
    registered_at: Instant
    profile: ProfileSpec = ProfileSpec()


class ImportRejection(msgspec.Struct, frozen=True):
    """A line that was not imported, and why."""

    line: int
    code: str
    message: str
    field: str | None = None


class ImportReport(msgspec.Struct, frozen=True):
    """What an import did: lines read, registrations new and updated, lines rejected."""

    lines: int
    imported: int
    new: int
    updated: int
    rejected_count: int
    rejected: list[ImportRejection]  # the first 1,000


class InterestOut(msgspec.Struct, frozen=True):
    launch: str
    customer: str
    registered_at: str
    profile: ProfileSpec


class TicketOut(msgspec.Struct, frozen=True):
    """A waiting-room ticket as its customer sees it.

    `position` 1 is next; it and `people_ahead` are null before the opening (the
    pre-queue is put in a random order at the opening) and once admitted.
    `eta_seconds` is in launch seconds. Poll again after `poll_after_seconds` (real
    seconds; also sent as `Retry-After`).

    An `expired` ticket's admission lapsed: joining again (`POST .../queue`) rejoins.
    Before `keeps_place_until` it keeps its place and is admitted again at once;
    after it (or when null) it goes to the back of the queue. `rejoins` counts the
    ticket's returns and `rejoined_at` is the latest.
    """

    ticket: str
    launch: str
    customer: str
    state: Literal["waiting", "admitted", "expired"]
    pre_queue: bool
    joined_at: str
    position: int | None
    people_ahead: int | None
    eta_seconds: float | None
    poll_after_seconds: float | None
    admission_token: str | None
    admitted_at: str | None
    expires_at: str | None
    keeps_place_until: str | None = None
    rejoins: int = 0
    rejoined_at: str | None = None


class AdmissionChange(msgspec.Struct, **_STRICT):
    """Change the admission rate, or pause and resume; what is left out stays as it is."""

    rate_per_second: Annotated[float, Meta(gt=0, le=1_000_000)] | None = None
    paused: bool | None = None


class RejoinCounts(msgspec.Struct, frozen=True):
    """Lapsed tickets that came back, by where they came back to."""

    kept_place: int
    back_of_queue: int


class AdmissionOut(msgspec.Struct, frozen=True):
    """A waiting room now: its rate, whether it is paused, and how many joined and got in.

    `joined` counts places given out (a rejoin at the back of the queue joins again),
    so `waiting` is `joined` - `admitted`.
    """

    launch: str
    rate_per_second: float
    paused: bool
    joined: int
    admitted: int
    waiting: int
    rejoined: RejoinCounts


class ServerTime(msgspec.Struct, frozen=True):
    """The server's clock, so clients can align with it."""

    now: str


class Health(msgspec.Struct, frozen=True):
    status: str
    version: str


def launch_from_spec(spec: LaunchSpec) -> Launch:
    """The domain launch for a validated spec (raises ValidationFailed on cross-field rules)."""
    return Launch(
        slug=spec.slug,
        name=spec.name,
        currency=spec.currency,
        opens_at=spec.opens_at,
        deposit=_deposit(spec.deposit),
        variants=tuple(
            Variant(
                sku=v.sku,
                name=v.name,
                price=v.price,
                stock=v.stock,
                deposit=_deposit(v.deposit) if v.deposit else None,
                lead_weeks=(v.lead_weeks[0], v.lead_weeks[1]) if v.lead_weeks else None,
            )
            for v in spec.variants
        ),
        per_customer_limit=spec.per_customer_limit,
        time_scale=spec.time_scale,
        interest_opens_at=spec.interest_opens_at,
        admission=(
            Admission(
                spec.admission.rate_per_second,
                spec.admission.token_ttl_seconds,
                spec.admission.grace_seconds,
            )
            if spec.admission
            else None
        ),
        report_milestones=tuple(spec.report_milestones),
        payments=(
            PaymentPolicy(spec.payments.provider, spec.payments.hold_minutes)
            if spec.payments
            else None
        ),
        bookings=BookingPolicy(spec.bookings.per_customer, spec.bookings.hold_minutes),
    )


def _deposit(spec: DepositSpec) -> DepositPolicy:
    return DepositPolicy(amount=spec.amount, refundable_hours=spec.refundable_hours)


def profile_from_spec(spec: ProfileSpec | None) -> Profile | None:
    if spec is None:
        return None
    return Profile(spec.first_car_with_brand, spec.new_to_brand, spec.phone, spec.region)


def spec_from_profile(profile: Profile | None) -> ProfileSpec:
    if profile is None:
        return ProfileSpec()
    return ProfileSpec(
        first_car_with_brand=profile.first_car_with_brand,
        new_to_brand=profile.new_to_brand,
        phone=profile.phone,  # type: ignore[arg-type]
        region=profile.region,
    )
