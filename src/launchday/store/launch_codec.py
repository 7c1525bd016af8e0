"""A launch as stored: JSON in `launches.spec`, its own format, read back as the domain's.

The API's wire type is not the storage format: the two may change apart. Rows written
before this format existed hold the API's launch body of the time, which has the same
fields; a rejoin grace left unset there means "as long as the token lives".
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from launchday.domain.launch import (
    Admission,
    BookingPolicy,
    DepositPolicy,
    Launch,
    PaymentPolicy,
    Variant,
)


class _Deposit(msgspec.Struct, frozen=True):
    amount: int
    refundable_hours: float = 168


class _Variant(msgspec.Struct, frozen=True):
    sku: str
    name: str
    price: int
    stock: int | None = None
    deposit: _Deposit | None = None
    lead_weeks: tuple[int, int] | None = None


class _Admission(msgspec.Struct, frozen=True):
    rate_per_second: float
    token_ttl_seconds: int = 900
    rejoin_grace_seconds: int | None = None


class _Payments(msgspec.Struct, frozen=True):
    provider: str
    hold_minutes: float = 15


class _Bookings(msgspec.Struct, frozen=True):
    per_customer: int = 1
    hold_minutes: float = 5


class _Launch(msgspec.Struct, frozen=True):
    slug: str
    name: str
    currency: str
    opens_at: datetime
    deposit: _Deposit
    variants: tuple[_Variant, ...]
    per_customer_limit: int = 1
    time_scale: float = 1.0
    interest_opens_at: datetime | None = None
    admission: _Admission | None = None
    report_milestones: tuple[int, ...] = ()
    payments: _Payments | None = None
    bookings: _Bookings = _Bookings()


_decode = msgspec.json.Decoder(_Launch).decode
_encode = msgspec.json.Encoder().encode


def encode_launch(launch: Launch) -> bytes:
    """The JSON a launch is stored as."""
    admission = launch.admission
    return _encode(
        _Launch(
            slug=launch.slug,
            name=launch.name,
            currency=launch.currency,
            opens_at=launch.opens_at,
            deposit=_deposit_of(launch.deposit),
            variants=tuple(
                _Variant(
                    v.sku,
                    v.name,
                    v.price,
                    v.stock,
                    None if v.deposit is None else _deposit_of(v.deposit),
                    v.lead_weeks,
                )
                for v in launch.variants
            ),
            per_customer_limit=launch.per_customer_limit,
            time_scale=launch.time_scale,
            interest_opens_at=launch.interest_opens_at,
            admission=None
            if admission is None
            else _Admission(
                admission.rate_per_second,
                admission.token_ttl_seconds,
                admission.rejoin_grace_seconds,
            ),
            report_milestones=launch.report_milestones,
            payments=None
            if launch.payments is None
            else _Payments(launch.payments.provider, launch.payments.hold_minutes),
            bookings=_Bookings(launch.bookings.per_customer, launch.bookings.hold_minutes),
        )
    )


def decode_launch(data: bytes) -> Launch:
    """The launch stored as `data`."""
    stored = _decode(data)
    admission = stored.admission
    return Launch(
        slug=stored.slug,
        name=stored.name,
        currency=stored.currency,
        opens_at=stored.opens_at,
        deposit=_policy(stored.deposit),
        variants=tuple(
            Variant(
                sku=v.sku,
                name=v.name,
                price=v.price,
                stock=v.stock,
                deposit=None if v.deposit is None else _policy(v.deposit),
                lead_weeks=v.lead_weeks,
            )
            for v in stored.variants
        ),
        per_customer_limit=stored.per_customer_limit,
        time_scale=stored.time_scale,
        interest_opens_at=stored.interest_opens_at,
        admission=None
        if admission is None
        else Admission(
            admission.rate_per_second,
            admission.token_ttl_seconds,
            admission.token_ttl_seconds
            if admission.rejoin_grace_seconds is None
            else admission.rejoin_grace_seconds,
        ),
        report_milestones=stored.report_milestones,
        payments=None
        if stored.payments is None
        else PaymentPolicy(stored.payments.provider, stored.payments.hold_minutes),
        bookings=BookingPolicy(stored.bookings.per_customer, stored.bookings.hold_minutes),
    )


def _deposit_of(policy: DepositPolicy) -> _Deposit:
    return _Deposit(policy.amount, policy.refundable_hours)


def _policy(deposit: _Deposit) -> DepositPolicy:
    return DepositPolicy(deposit.amount, deposit.refundable_hours)
