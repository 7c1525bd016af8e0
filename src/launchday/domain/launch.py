"""A launch: its variants, deposit policy, opening minute and clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from launchday.domain.clock import EARLIEST, END_OF_TIME, launch_time
from launchday.domain.errors import NotFound, NotOpen, ValidationFailed
from launchday.domain.quota import Quota


@dataclass(frozen=True, slots=True)
class DepositPolicy:
    """What a buyer pays at order time, and how long it stays refundable."""

    amount: int
    refundable_hours: float

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.refundable_hours)


@dataclass(frozen=True, slots=True)
class Variant:
    """One thing on sale. `stock` None means built to order (no cap)."""

    sku: str
    name: str
    price: int
    stock: int | None = None
    deposit: DepositPolicy | None = None
    lead_weeks: tuple[int, int] | None = None

    @property
    def limited(self) -> bool:
        return self.stock is not None


@dataclass(frozen=True, slots=True)
class Admission:
    """The waiting room's admission policy (rejoining: launchday.domain.rejoin)."""

    rate_per_second: float
    token_ttl_seconds: int
    rejoin_grace_seconds: int = 0


@dataclass(frozen=True, slots=True)
class PaymentPolicy:
    """Deposits paid through a payment provider (launchday.domain.payment): which one,
    and how long (in launch time) a new order holds its unit while the buyer pays."""

    provider: str
    hold_minutes: float = 15

    @property
    def hold(self) -> timedelta:
        return timedelta(minutes=self.hold_minutes)


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    """How buyers book test drives in a launch: how many upcoming ones each may hold,
    and how long a held slot waits for the buyer's confirmation."""

    per_customer: int = 1
    hold_minutes: float = 5

    @property
    def hold(self) -> timedelta:
        return timedelta(minutes=self.hold_minutes)


@dataclass(frozen=True, slots=True)
class Launch:
    """A launch as the brand configured it. Immutable once created."""

    slug: str
    name: str
    currency: str
    opens_at: datetime
    deposit: DepositPolicy
    variants: tuple[Variant, ...]
    per_customer_limit: int = 1
    time_scale: float = 1.0
    interest_opens_at: datetime | None = None
    admission: Admission | None = None
    report_milestones: tuple[int, ...] = field(default_factory=tuple)
    payments: PaymentPolicy | None = None
    bookings: BookingPolicy = BookingPolicy()
    # Worked out once: every order is checked against them.
    _quotas: tuple[Quota, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_launch(self)
        quotas = tuple(
            Quota(v.sku, v.stock, frozenset({v.sku})) for v in self.variants if v.stock is not None
        )
        object.__setattr__(self, "_quotas", quotas)

    def variant(self, sku: str) -> Variant:
        """The variant with this SKU, or NotFound."""
        for variant in self.variants:
            if variant.sku == sku:
                return variant
        raise NotFound(f"launch {self.slug!r} has no variant {sku!r}", field="sku")

    @property
    def quotas(self) -> tuple[Quota, ...]:
        """The launch's quotas: one per limited variant, of its stock."""
        return self._quotas

    def quotas_of(self, sku: str) -> tuple[Quota, ...]:
        """The quotas an order of `sku` counts against."""
        return tuple(quota for quota in self.quotas if sku in quota.skus)

    def deposit_for(self, variant: Variant) -> DepositPolicy:
        """The variant's own deposit policy, else the launch's."""
        return variant.deposit or self.deposit

    def clock(self, now: datetime) -> datetime:
        """Launch time at real time `now`."""
        return launch_time(now, self.opens_at, self.time_scale)

    def check_orders_open(self, now: datetime) -> None:
        """Raise NotOpen before the opening minute (`now` real or launch time: the two
        agree until the opening)."""
        if now < self.opens_at:
            raise NotOpen(f"orders for {self.slug!r} open at {self.opens_at.isoformat()}")

    def check_interest_open(self, now: datetime) -> None:
        """Raise NotOpen before registration of interest opens."""
        if self.interest_opens_at is not None and now < self.interest_opens_at:
            raise NotOpen(
                f"registration for {self.slug!r} opens at {self.interest_opens_at.isoformat()}"
            )


def validate_launch(launch: Launch) -> None:
    """Rules that span fields; single-field bounds are checked where input is parsed."""
    if not launch.variants:
        raise ValidationFailed("a launch needs at least one variant", field="variants")
    seen: set[str] = set()
    for index, variant in enumerate(launch.variants):
        if variant.sku in seen:
            raise ValidationFailed(
                f"SKU {variant.sku!r} appears twice", field=f"variants[{index}].sku"
            )
        seen.add(variant.sku)
        if variant.lead_weeks is not None and variant.lead_weeks[0] > variant.lead_weeks[1]:
            raise ValidationFailed(
                "lead_weeks must be [earliest, latest]", field=f"variants[{index}].lead_weeks"
            )
    if launch.opens_at.tzinfo is None:
        raise ValidationFailed("opens_at needs a time zone", field="opens_at")
    if launch.interest_opens_at is not None and launch.interest_opens_at.tzinfo is None:
        raise ValidationFailed("interest_opens_at needs a time zone", field="interest_opens_at")
    for name, at in (
        ("opens_at", launch.opens_at),
        ("interest_opens_at", launch.interest_opens_at),
    ):
        if at is not None and not EARLIEST <= at < END_OF_TIME:
            raise ValidationFailed(f"{name} must fall in 1970 to 8999 (UTC)", field=name)
    if launch.interest_opens_at is not None and launch.interest_opens_at > launch.opens_at:
        raise ValidationFailed(
            "interest_opens_at must not be after opens_at", field="interest_opens_at"
        )
    if launch.time_scale <= 0:
        raise ValidationFailed("time_scale must be positive", field="time_scale")
    if launch.payments is not None and launch.payments.hold_minutes <= 0:
        raise ValidationFailed("hold_minutes must be positive", field="payments.hold_minutes")
    if launch.per_customer_limit < 1:
        raise ValidationFailed("per_customer_limit must be at least 1", field="per_customer_limit")
