"""Reading a scenario file: TOML into a checked `Scenario`, every problem with its line.

A scenario is loaded by packaged name (`yu7-2025`, `su7-2024`, shipped in
`launchday.scenarios`) or by file path, parsed with tomllib, and checked field by
field. Every problem raises `ScenarioError`, whose message reads
`FILE:LINE: FIELD: what is wrong`, so a hand-edited file can be fixed at once.
The format is described in `docs/scenarios.md`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Final

from launchday.sim.scenario import (
    MAX_HOURS,
    MAX_MONEY,
    MAX_WEEKS,
    BuyerShares,
    InterestShares,
    Milestone,
    Scenario,
    ScenarioDeposit,
    ScenarioError,
    ScenarioVariant,
    SourceNote,
)
from launchday.sim.scenario_production import read_production
from launchday.sim.scenario_retail import read_retail
from launchday.sim.toml_fields import FieldPath, FieldReader, shown

PACKAGE: Final = "launchday.scenarios"
MILESTONE_SOURCES: Final = frozenset({"reported", "modelled", "assumed"})
# How far the variants' mix may sum from 1 before it is a mistake, not rounding.
MIX_TOLERANCE: Final = 0.01
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# The keys each table may hold (see the scenarios' README); anything else is a typo.
_TOP_LEVEL: Final = frozenset(
    {"launch", "deposit", "variants", "demand", "interest", "buyers", "sources", "production"}
    | {"retail"}
)
_LAUNCH_KEYS: Final = frozenset({"slug", "name", "currency", "opens_at", "per_customer_limit"})
_VARIANT_KEYS: Final = frozenset(
    {"sku", "name", "price", "mix", "stock", "lead_weeks", "deposit", "refundable_hours"}
)
_INTEREST_KEYS: Final = frozenset(
    {"window", "registrations", "first_car_with_brand", "new_to_brand", "source"}
    | {"relative_to", "ratio"}
)


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


class _Reader(FieldReader):
    """Reads a scenario document section by section."""

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
        skus = [v.sku for v in variants]
        built = [v.sku for v in variants if v.stock is None]
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
            production=read_production(self, data, skus, built),
            retail=read_retail(self, data),
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

    def lead_weeks(self, table: Mapping[str, object], at: FieldPath) -> tuple[int, int] | None:
        if str(at[-1]) not in table:
            return None
        value = table[str(at[-1])]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise self.error(at, f"expected [earliest, latest] in weeks, got {shown(value)}")
        earliest, latest = value
        if not 0 <= earliest <= latest <= MAX_WEEKS:
            raise self.error(at, f"expected 0 <= earliest <= latest <= {MAX_WEEKS}")
        return earliest, latest
