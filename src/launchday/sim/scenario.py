"""Launch scenarios: a published launch, read from TOML into frozen values and checked.

A scenario is loaded by packaged name (`yu7-2025`, `su7-2024`, shipped in
`launchday.scenarios`) or by file path, parsed with tomllib, and checked field by
field. Every problem raises `ScenarioError`, whose message reads
`FILE:LINE: FIELD: what is wrong`, so a hand-edited file can be fixed at once.
The format is described in the scenarios' README; see `shared/scenarios/README.md`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Final

import msgspec

from launchday.api.wire import DepositSpec, LaunchSpec, VariantSpec
from launchday.sim.toml_positions import key_line

# A field's place in the TOML document: ("variants", 2, "mix") is variants[2].mix.
FieldPath = tuple[str | int, ...]

PACKAGE: Final = "launchday.scenarios"
MILESTONE_SOURCES: Final = frozenset({"reported", "modelled", "assumed"})
# How far the variants' mix may sum from 1 before it is a mistake, not rounding.
MIX_TOLERANCE: Final = 0.01
# The API's bounds (schemas.py), checked here so a scenario fails on load, not on replay.
MAX_SECONDS: Final = 31_622_400
MAX_HOURS: Final = 8784
MAX_MONEY: Final = 1_000_000_000_000
MAX_WEEKS: Final = 520
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DURATION = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
# The keys each table may hold (see the scenarios' README); anything else is a typo.
_TOP_LEVEL: Final = frozenset(
    {"launch", "deposit", "variants", "demand", "interest", "buyers", "sources"}
)
_LAUNCH_KEYS: Final = frozenset({"slug", "name", "currency", "opens_at", "per_customer_limit"})
_VARIANT_KEYS: Final = frozenset(
    {"sku", "name", "price", "mix", "stock", "lead_weeks", "deposit", "refundable_hours"}
)
_INTEREST_KEYS: Final = frozenset(
    {"window", "registrations", "first_car_with_brand", "new_to_brand", "source"}
    | {"relative_to", "ratio"}
)


class ScenarioError(ValueError):
    """A scenario that cannot be used: which file, which field, which line, and why."""

    def __init__(
        self, reason: str, *, file: str, field: str | None = None, line: int | None = None
    ) -> None:
        self.reason = reason
        self.file = file
        self.field = field
        self.line = line
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Milestone:
    """A cumulative count `after_seconds` after opening, and where the figure comes from."""

    after_seconds: float
    orders: int
    source: str


@dataclass(frozen=True, slots=True)
class ScenarioDeposit:
    """The launch's deposit: paid at order time, refundable for `refundable_hours`."""

    amount: int
    refundable_hours: float


@dataclass(frozen=True, slots=True)
class ScenarioVariant:
    """One variant; `mix` is resolved (equal shares when absent) and the mixes sum to 1."""

    sku: str
    name: str
    price: int
    mix: float
    stock: int | None = None
    lead_weeks: tuple[int, int] | None = None
    deposit: int | None = None
    refundable_hours: float | None = None


@dataclass(frozen=True, slots=True)
class InterestShares:
    """Registrations of interest before opening, and who registered."""

    window_seconds: float
    registrations: int
    first_car_with_brand: float | None = None
    new_to_brand: float | None = None
    relative_to: str | None = None
    ratio: float | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class BuyerShares:
    """Who the buyers were."""

    apple_users: float | None = None
    women: float | None = None
    mean_age: float | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class SourceNote:
    """Where a published figure comes from."""

    fact: str
    where: str | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A launch as published: what was sold, and the order and lock counts over time."""

    file: str
    slug: str
    name: str
    currency: str
    opens_at: datetime
    per_customer_limit: int
    deposit: ScenarioDeposit
    variants: tuple[ScenarioVariant, ...]
    milestones: tuple[Milestone, ...]
    locks: tuple[Milestone, ...] = ()
    cancel_share: float = 0.0
    interest: InterestShares | None = None
    buyers: BuyerShares | None = None
    sources: tuple[SourceNote, ...] = ()

    @property
    def last_milestone_seconds(self) -> float:
        """When the last order milestone falls: how far a replay goes by default."""
        return self.milestones[-1].after_seconds


# --- loading ---------------------------------------------------------------------------


def packaged_scenarios() -> tuple[str, ...]:
    """The names of the scenarios shipped with the package."""
    root = resources.files(PACKAGE)
    return tuple(sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml")))


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """A scenario by packaged name (`yu7-2025`) or by path to a TOML file."""
    text = os.fspath(name_or_path)
    # A bare name is a packaged scenario; anything path-like is a file, even if missing.
    if os.sep not in text and "/" not in text and not text.endswith(".toml"):
        if text in packaged_scenarios():
            resource = resources.files(PACKAGE).joinpath(f"{text}.toml")
            return parse_scenario(resource.read_text(encoding="utf-8"), file=f"{text}.toml")
        if not Path(text).exists():
            names = ", ".join(packaged_scenarios())
            raise ScenarioError(f"no such scenario; the packaged ones are: {names}", file=text)
    path = Path(text)
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such file", file=text) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read: {exc}", file=text) from None
    return parse_scenario(content, file=text)


def parse_scenario(text: str, *, file: str = "<scenario>") -> Scenario:
    """A scenario from TOML text; `file` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts the position in its message only: "... (at line 3, column 5)".
        found = re.search(r"at line (\d+)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ScenarioError(
            f"not valid TOML: {reason}", file=file, line=int(found.group(1)) if found else None
        ) from None
    return _Reader(text, file).scenario(data)


# --- what a replay derives from a scenario -----------------------------------------------


def parse_duration(value: str) -> float:
    """Seconds in a duration such as `45s`, `2m`, `18h`, `7d`, `1h30m`; ValueError otherwise."""
    if not _DURATION.fullmatch(value):
        raise ValueError(f"{value!r} is not a duration like 45s, 2m, 18h or 7d")
    return float(sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value)))


def scaled_count(count: int, scale: float) -> int:
    """A count multiplied by `scale`, rounded half up (monotone, so order is kept)."""
    return math.floor(count * scale + 0.5)


def scaled_stock(stock: int, scale: float) -> int:
    """A limited run multiplied by `scale`: rounded, and at least one unit (none stays none)."""
    return 0 if stock == 0 else max(1, scaled_count(stock, scale))


def scaled_milestones(scenario: Scenario, scale: float) -> tuple[Milestone, ...]:
    """The order milestones with counts multiplied by `scale` and rounded."""
    return _scale(scenario.milestones, scale)


def scaled_locks(scenario: Scenario, scale: float) -> tuple[Milestone, ...]:
    """The lock milestones with counts multiplied by `scale` and rounded."""
    return _scale(scenario.locks, scale)


def _scale(milestones: Sequence[Milestone], scale: float) -> tuple[Milestone, ...]:
    _check_scale(scale)
    return tuple(
        Milestone(m.after_seconds, scaled_count(m.orders, scale), m.source) for m in milestones
    )


def variant_deposit(scenario: Scenario, variant: ScenarioVariant) -> ScenarioDeposit:
    """The variant's deposit and window: its own where given, else the launch's."""
    return ScenarioDeposit(
        amount=scenario.deposit.amount if variant.deposit is None else variant.deposit,
        refundable_hours=(
            scenario.deposit.refundable_hours
            if variant.refundable_hours is None
            else variant.refundable_hours
        ),
    )


def launch_spec(
    scenario: Scenario,
    *,
    opens_at: datetime,
    time_scale: float,
    scale: float,
    slug: str | None = None,
) -> LaunchSpec:
    """The `POST /api/v1/launches` body replaying `scenario`, checked against the API bounds."""
    if opens_at.tzinfo is None:
        raise ValueError("opens_at needs a time zone")
    if not (time_scale > 0 and math.isfinite(time_scale)):
        raise ValueError("time_scale must be a positive number")
    _check_scale(scale)
    spec = LaunchSpec(
        slug=scenario.slug if slug is None else slug,
        name=scenario.name,
        currency=scenario.currency,
        opens_at=opens_at,
        deposit=DepositSpec(scenario.deposit.amount, scenario.deposit.refundable_hours),
        variants=[_variant_spec(scenario, v, scale) for v in scenario.variants],
        per_customer_limit=scenario.per_customer_limit,
        time_scale=time_scale,
        interest_opens_at=(
            None
            if scenario.interest is None
            else opens_at - timedelta(seconds=scenario.interest.window_seconds)
        ),
        admission=None,
        report_milestones=report_milestones(scenario),
    )
    # Struct constructors do not check `Meta` bounds; a round trip does (e.g. a bad slug).
    return msgspec.convert(msgspec.to_builtins(spec), LaunchSpec)


def report_milestones(scenario: Scenario) -> list[int]:
    """The scenario's order and lock milestone times, in whole seconds, sorted, once each."""
    times = {max(1, round(m.after_seconds)) for m in (*scenario.milestones, *scenario.locks)}
    return sorted(times)


def _variant_spec(scenario: Scenario, variant: ScenarioVariant, scale: float) -> VariantSpec:
    overridden = variant.deposit is not None or variant.refundable_hours is not None
    own = variant_deposit(scenario, variant)
    return VariantSpec(
        sku=variant.sku,
        name=variant.name,
        price=variant.price,
        stock=None if variant.stock is None else scaled_stock(variant.stock, scale),
        deposit=DepositSpec(own.amount, own.refundable_hours) if overridden else None,
        lead_weeks=None if variant.lead_weeks is None else list(variant.lead_weeks),
    )


def _check_scale(scale: float) -> None:
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError("scale must be a positive number")


# --- reading and checking ----------------------------------------------------------------


def field_name(path: FieldPath) -> str:
    """`("demand", "milestones", 1, "after")` as `demand.milestones[1].after`."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


class _Reader:
    """Reads one parsed document, turning every problem into a ScenarioError with its line."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file

    def error(self, path: FieldPath, reason: str) -> ScenarioError:
        return ScenarioError(
            reason, file=self.file, field=field_name(path), line=key_line(self.text, path)
        )

    # -- sections --

    def scenario(self, data: Mapping[str, object]) -> Scenario:
        self.only_known(data, (), _TOP_LEVEL)
        # Sections are read in file order so the first error reported is the first in the file.
        launch = self.table(data, ("launch",), required=True)
        self.only_known(launch, ("launch",), _LAUNCH_KEYS)
        slug = self.pattern(launch, ("launch", "slug"), _SLUG, "a lower-case id like yu7-2025")
        name = self.name(launch, ("launch", "name"))
        currency = self.pattern(launch, ("launch", "currency"), _CURRENCY, "a code like CNY")
        opens_at = self.instant(launch, ("launch", "opens_at"))
        limit = self.integer(launch, ("launch", "per_customer_limit"), low=1, high=1000, default=1)
        deposit = self.deposit(data)
        variants = self.variants(data)
        milestones, locks, cancel_share = self.demand(data)
        return Scenario(
            file=self.file,
            slug=slug,
            name=name,
            currency=currency,
            opens_at=opens_at,
            per_customer_limit=limit,
            deposit=deposit,
            variants=variants,
            milestones=milestones,
            locks=locks,
            cancel_share=cancel_share,
            interest=self.interest(data),
            buyers=self.buyers(data),
            sources=self.sources(data),
        )

    def deposit(self, data: Mapping[str, object]) -> ScenarioDeposit:
        table = self.table(data, ("deposit",), required=True)
        self.only_known(table, ("deposit",), {"amount", "refundable_hours"})
        return ScenarioDeposit(
            amount=self.integer(table, ("deposit", "amount"), low=0, high=MAX_MONEY),
            refundable_hours=self.number(
                table, ("deposit", "refundable_hours"), low=0, high=MAX_HOURS, default=168.0
            ),
        )

    def variants(self, data: Mapping[str, object]) -> tuple[ScenarioVariant, ...]:
        items = self.array_of_tables(data, ("variants",), required=True)
        if not items:
            raise self.error(("variants",), "at least one [[variants]] is required")
        parsed: list[ScenarioVariant] = []
        mixes: list[float | None] = []
        seen: set[str] = set()
        for index, table in enumerate(items):
            at: FieldPath = ("variants", index)
            self.only_known(table, at, _VARIANT_KEYS)
            sku = self.pattern(table, (*at, "sku"), _SKU, "letters, digits, '.', '_' or '-'")
            if sku in seen:
                raise self.error((*at, "sku"), f"SKU {sku!r} appears twice")
            seen.add(sku)
            mixes.append(self.optional_share(table, (*at, "mix")))
            parsed.append(
                ScenarioVariant(
                    sku=sku,
                    name=self.name(table, (*at, "name")),
                    price=self.integer(table, (*at, "price"), low=0, high=MAX_MONEY),
                    mix=0.0,
                    stock=self.optional_integer(table, (*at, "stock"), low=0, high=10**9),
                    lead_weeks=self.lead_weeks(table, (*at, "lead_weeks")),
                    deposit=self.optional_integer(table, (*at, "deposit"), low=0, high=MAX_MONEY),
                    refundable_hours=self.optional_number(
                        table, (*at, "refundable_hours"), low=0, high=MAX_HOURS
                    ),
                )
            )
        resolved = self.resolve_mix(mixes)
        return tuple(
            ScenarioVariant(
                sku=v.sku,
                name=v.name,
                price=v.price,
                mix=share,
                stock=v.stock,
                lead_weeks=v.lead_weeks,
                deposit=v.deposit,
                refundable_hours=v.refundable_hours,
            )
            for v, share in zip(parsed, resolved, strict=True)
        )

    def resolve_mix(self, mixes: list[float | None]) -> list[float]:
        """Given shares as they are; absent ones split what is left equally; all sum to 1."""
        given = [m for m in mixes if m is not None]
        if not given:
            return [1.0 / len(mixes)] * len(mixes)
        last = max(i for i, m in enumerate(mixes) if m is not None)
        total = math.fsum(given)
        missing = len(mixes) - len(given)
        if total > 1 + MIX_TOLERANCE:
            raise self.error(("variants", last, "mix"), f"the mix shares sum to {total:g}, over 1")
        if missing == 0 and abs(total - 1) > MIX_TOLERANCE:
            raise self.error(("variants", last, "mix"), f"the mix shares sum to {total:g}, not 1")
        if missing == 0:
            # Rounding in the file (0.34 + 0.33 + 0.33) is normalised away.
            return [m / total for m in given]
        rest = max(0.0, 1 - total) / missing
        filled = [rest if m is None else m for m in mixes]
        if math.fsum(filled) <= 0:
            raise self.error(("variants", last, "mix"), "the mix shares sum to 0")
        return [m / math.fsum(filled) for m in filled]

    def demand(
        self, data: Mapping[str, object]
    ) -> tuple[tuple[Milestone, ...], tuple[Milestone, ...], float]:
        table = self.table(data, ("demand",), required=True)
        self.only_known(table, ("demand",), {"milestones", "locks", "cancel_share"})
        if "milestones" not in table:
            raise self.error(("demand",), "[demand] needs `milestones`")
        milestones = self.milestones(table, ("demand", "milestones"))
        if not milestones:
            raise self.error(("demand", "milestones"), "at least one milestone is required")
        locks = self.milestones(table, ("demand", "locks")) if "locks" in table else ()
        self.check_locks(milestones, locks)
        cancel_share = self.optional_share(table, ("demand", "cancel_share"))
        return milestones, locks, 0.0 if cancel_share is None else cancel_share

    def milestones(self, table: Mapping[str, object], at: FieldPath) -> tuple[Milestone, ...]:
        items = table[str(at[-1])]
        if not isinstance(items, list):
            raise self.error(at, 'expected a list like [{ after = "2m", orders = 1000 }]')
        out: list[Milestone] = []
        for index, item in enumerate(items):
            here = (*at, index)
            if not isinstance(item, dict):
                raise self.error(here, 'expected { after = "2m", orders = 1000 }')
            self.only_known(item, here, {"after", "orders", "source"})
            after = self.duration(item, (*here, "after"))
            orders = self.integer(item, (*here, "orders"), low=0, high=10**12)
            source = self.optional_text(item, (*here, "source")) or "assumed"
            if source not in MILESTONE_SOURCES:
                allowed = ", ".join(sorted(MILESTONE_SOURCES))
                raise self.error((*here, "source"), f"{source!r} is not one of {allowed}")
            if out and after <= out[-1].after_seconds:
                raise self.error(
                    (*here, "after"), "milestones must be in time order, each after the one before"
                )
            if out and orders < out[-1].orders:
                raise self.error(
                    (*here, "orders"),
                    f"cumulative counts cannot go down ({orders} after {out[-1].orders})",
                )
            out.append(Milestone(after, orders, source))
        return tuple(out)

    def check_locks(self, orders: Sequence[Milestone], locks: Sequence[Milestone]) -> None:
        """A lock count cannot exceed the orders placed by then (at most the next milestone's)."""
        for index, lock in enumerate(locks):
            bound = next((m for m in orders if m.after_seconds >= lock.after_seconds), orders[-1])
            if lock.orders > bound.orders:
                raise self.error(
                    ("demand", "locks", index, "orders"),
                    f"{lock.orders} locked but at most {bound.orders} ordered by then",
                )

    def interest(self, data: Mapping[str, object]) -> InterestShares | None:
        if "interest" not in data:
            return None
        table = self.table(data, ("interest",), required=False)
        at: FieldPath = ("interest",)
        self.only_known(table, at, _INTEREST_KEYS)
        relative_to = self.optional_text(table, (*at, "relative_to"))
        if relative_to is not None and not _SLUG.fullmatch(relative_to):
            raise self.error((*at, "relative_to"), "expected a scenario slug like su7-2024")
        ratio = self.optional_number(table, (*at, "ratio"), low=0, high=1e6)
        return InterestShares(
            window_seconds=self.duration(table, (*at, "window")),
            registrations=self.integer(table, (*at, "registrations"), low=0, high=10**10),
            first_car_with_brand=self.optional_share(table, (*at, "first_car_with_brand")),
            new_to_brand=self.optional_share(table, (*at, "new_to_brand")),
            relative_to=relative_to,
            ratio=ratio,
            source=self.optional_text(table, (*at, "source")),
        )

    def buyers(self, data: Mapping[str, object]) -> BuyerShares | None:
        if "buyers" not in data:
            return None
        table = self.table(data, ("buyers",), required=False)
        at: FieldPath = ("buyers",)
        self.only_known(table, at, {"apple_users", "women", "mean_age", "source"})
        return BuyerShares(
            apple_users=self.optional_share(table, (*at, "apple_users")),
            women=self.optional_share(table, (*at, "women")),
            mean_age=self.optional_number(table, (*at, "mean_age"), low=0, high=150),
            source=self.optional_text(table, (*at, "source")),
        )

    def sources(self, data: Mapping[str, object]) -> tuple[SourceNote, ...]:
        items = self.array_of_tables(data, ("sources",), required=False)
        notes: list[SourceNote] = []
        for index, table in enumerate(items):
            at: FieldPath = ("sources", index)
            self.only_known(table, at, {"fact", "where"})
            notes.append(
                SourceNote(
                    fact=self.text_value(table, (*at, "fact")),
                    where=self.optional_text(table, (*at, "where")),
                )
            )
        return tuple(notes)

    # -- structure --

    def table(
        self, data: Mapping[str, object], at: FieldPath, *, required: bool
    ) -> Mapping[str, object]:
        """The section at `at`; empty when it is optional and absent (see `has`)."""
        name = str(at[-1])
        if name not in data:
            if required:
                raise self.error(at, f"the [{name}] section is required")
            return {}
        value = data[name]
        if not isinstance(value, dict):
            raise self.error(at, f"expected a [{name}] section")
        return value

    def array_of_tables(
        self, data: Mapping[str, object], at: FieldPath, *, required: bool
    ) -> list[Mapping[str, object]]:
        name = str(at[-1])
        if name not in data:
            if required:
                raise self.error(at, f"at least one [[{name}]] is required")
            return []
        value = data[name]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(at, f"expected [[{name}]] tables")
        return value

    def only_known(
        self, table: Mapping[str, object], at: FieldPath, known: Collection[str]
    ) -> None:
        """Unknown keys are errors: a misspelt optional field would otherwise vanish silently."""
        for key in table:
            if key not in known:
                allowed = ", ".join(sorted(known))
                what = "section" if not at else "field"
                raise self.error((*at, key), f"unknown {what} {key!r}; expected one of: {allowed}")

    # -- values --

    def required(self, table: Mapping[str, object], at: FieldPath) -> object:
        key = str(at[-1])
        if key not in table:
            raise self.error(at, "is required")
        return table[key]

    def integer(
        self,
        table: Mapping[str, object],
        at: FieldPath,
        *,
        low: int,
        high: int,
        default: int | None = None,
    ) -> int:
        if default is not None and str(at[-1]) not in table:
            return default
        value = self.required(table, at)
        # bool is an int in Python, but `true` is not a count.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(at, f"expected a whole number, got {_shown(value)}")
        if not low <= value <= high:
            raise self.error(at, f"{value} is out of range [{low}, {high}]")
        return value

    def optional_integer(
        self, table: Mapping[str, object], at: FieldPath, *, low: int, high: int
    ) -> int | None:
        if str(at[-1]) not in table:
            return None
        return self.integer(table, at, low=low, high=high)

    def number(
        self,
        table: Mapping[str, object],
        at: FieldPath,
        *,
        low: float,
        high: float,
        default: float | None = None,
    ) -> float:
        if default is not None and str(at[-1]) not in table:
            return default
        value = self.required(table, at)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(at, f"expected a number, got {_shown(value)}")
        if not (math.isfinite(value) and low <= value <= high):
            raise self.error(at, f"{value} is out of range [{low:g}, {high:g}]")
        return float(value)

    def optional_number(
        self, table: Mapping[str, object], at: FieldPath, *, low: float, high: float
    ) -> float | None:
        if str(at[-1]) not in table:
            return None
        return self.number(table, at, low=low, high=high)

    def optional_share(self, table: Mapping[str, object], at: FieldPath) -> float | None:
        """A share of a whole: a number from 0 to 1."""
        if str(at[-1]) not in table:
            return None
        return self.number(table, at, low=0.0, high=1.0)

    def text_value(self, table: Mapping[str, object], at: FieldPath) -> str:
        value = self.required(table, at)
        if not isinstance(value, str):
            raise self.error(at, f"expected a string, got {_shown(value)}")
        return value

    def optional_text(self, table: Mapping[str, object], at: FieldPath) -> str | None:
        if str(at[-1]) not in table:
            return None
        return self.text_value(table, at)

    def name(self, table: Mapping[str, object], at: FieldPath) -> str:
        value = self.text_value(table, at)
        if not 1 <= len(value.strip()) <= 200:
            raise self.error(at, "expected a name of 1 to 200 characters")
        return value

    def pattern(
        self, table: Mapping[str, object], at: FieldPath, pattern: re.Pattern[str], hint: str
    ) -> str:
        value = self.text_value(table, at)
        if not pattern.fullmatch(value):
            raise self.error(at, f"{value!r} is not valid: expected {hint}")
        return value

    def instant(self, table: Mapping[str, object], at: FieldPath) -> datetime:
        """An RFC 3339 time with a zone, quoted or as a TOML date-time, returned in UTC."""
        value = self.required(table, at)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise self.error(at, f"{value!r} is not an RFC 3339 time") from None
        if not isinstance(value, datetime):
            raise self.error(at, f"expected a time like 2025-06-26T14:00:00Z, got {_shown(value)}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.error(at, "the time needs a zone, e.g. a trailing Z for UTC")
        return value.astimezone(UTC)

    def duration(self, table: Mapping[str, object], at: FieldPath) -> float:
        value = self.required(table, at)
        if not isinstance(value, str):
            raise self.error(at, f'expected a duration like "2m", got {_shown(value)}')
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(at, str(exc)) from None
        if not 0 < seconds <= MAX_SECONDS:
            raise self.error(at, f"{value!r} must be more than 0 and at most 366d")
        return seconds

    def lead_weeks(self, table: Mapping[str, object], at: FieldPath) -> tuple[int, int] | None:
        if str(at[-1]) not in table:
            return None
        value = table[str(at[-1])]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise self.error(at, f"expected [earliest, latest] in weeks, got {_shown(value)}")
        earliest, latest = value
        if not 0 <= earliest <= latest <= MAX_WEEKS:
            raise self.error(at, f"expected 0 <= earliest <= latest <= {MAX_WEEKS}")
        return earliest, latest


def _shown(value: object) -> str:
    """A value as the author wrote it, for messages."""
    kind = type(value).__name__
    text = repr(value)
    return f"{kind} {text[:40]}{'...' if len(text) > 40 else ''}"
