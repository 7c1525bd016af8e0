"""A scenario's production plan: read from its `[production]` section, and scaled and
moved in time for a replay.

The section holds the body of `PUT /api/v1/launches/{slug}/production` (the API's own
checks apply), each weekly rate with the `source` of its figure, and `quotes_on`: the
day the variants' `lead_weeks` were reported, on which a replay quotes a new order to
set beside them (`docs/scenarios.md`).

A replay at scale 0.004 turns 1,658 packs a week into 6.6: rounding each week's figure
would make the cars of a year 6% early or late, some three weeks on a 58-week promise.
So a scaled rate keeps the total to the end of every week as close as whole units allow
(weeks of 6 and 7 in turn), and quotes do not depend on the scale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import msgspec

from launchday.api.production_wire import ProductionSpec, plan_from_spec, spec_from_plan
from launchday.domain.errors import ValidationFailed
from launchday.domain.production_plan import Rate, rate_in, validate_plan
from launchday.sim.scenario import ScenarioProduction
from launchday.sim.toml_fields import FieldPath, FieldReader, shown

SOURCES: Final = frozenset({"reported", "modelled", "assumed"})
# Weeks over which a scaled rate keeps its totals exact; after them the last rate holds
# rounded (the API takes up to 520 rates a list).
SCALED_WEEKS: Final = 260
_KEYS: Final = frozenset(
    {"weeks_start", "timezone", "delivery_lag_weeks", "window_weeks", "quotes_on"}
    | {"lines", "components", "priority_skus"}
)
# A msgspec error names its place as `$.lines[0].capacity[1].cars_per_week`.
_PATH_PART = re.compile(r"\.(\w+)|\[(\d+)\]")


def read_production(
    reader: FieldReader, data: Mapping[str, object], skus: Sequence[str], built: Sequence[str]
) -> ScenarioProduction | None:
    """The `[production]` section, checked as the API checks a plan (None if absent)."""
    table = reader.table(data, ("production",), required=False)
    if not table:
        return None
    reader.only_known(table, ("production",), _KEYS)
    quotes_on = table.get("quotes_on")
    if quotes_on is not None and (
        not isinstance(quotes_on, date) or isinstance(quotes_on, datetime)
    ):
        raise reader.error(
            ("production", "quotes_on"), f"expected a date like 2025-07-04, got {shown(quotes_on)}"
        )
    body = {key: value for key, value in table.items() if key != "quotes_on"}
    for at, rates in _rate_lists(body):
        for index, rate in enumerate(rates):
            source = rate.pop("source", None) if isinstance(rate, dict) else None
            if source is not None and source not in SOURCES:
                where: FieldPath = (*at, index, "source")
                raise reader.error(where, f"expected one of {', '.join(sorted(SOURCES))}")
    try:
        plan = plan_from_spec(msgspec.convert(body, ProductionSpec))
        validate_plan(plan, skus, built)
    except msgspec.ValidationError as exc:
        raise reader.error(_field_path(str(exc)), str(exc).split(" - at ")[0]) from None
    except ValidationFailed as exc:
        raise reader.error(("production", *_dotted(exc.field)), exc.message) from None
    return ScenarioProduction(plan, quotes_on if isinstance(quotes_on, date) else None)


def replay_plan(
    production: ScenarioProduction, scale: float, moved_by: timedelta
) -> dict[str, object]:
    """The `PUT .../production` body for a replay `scale` times the size, whose opening is
    `moved_by` after the scenario's: the weeks move by as many whole days."""
    plan = production.plan
    scaled = replace(
        plan,
        weeks_start=plan.weeks_start + timedelta(days=round(moved_by / timedelta(days=1))),
        lines=tuple(
            replace(line, capacity=scaled_rates(line.capacity, scale)) for line in plan.lines
        ),
        components=tuple(
            replace(
                component,
                on_hand=round(component.on_hand * scale),
                suppliers=tuple(
                    replace(supplier, supply=scaled_rates(supplier.supply, scale))
                    for supplier in component.suppliers
                ),
            )
            for component in plan.components
        ),
    )
    return msgspec.to_builtins(spec_from_plan(scaled))  # type: ignore[no-any-return]


def quote_moment(
    production: ScenarioProduction, scenario_opens_at: datetime, replay_opens_at: datetime
) -> datetime | None:
    """When a replay's new order is quoted: noon of `quotes_on` in the plan's zone (not
    before the opening), moved as the replay's opening is moved from the scenario's."""
    if production.quotes_on is None:
        return None
    zone = ZoneInfo(production.plan.timezone)
    noon = datetime.combine(production.quotes_on, time(12), zone)
    return replay_opens_at + (max(noon, scenario_opens_at) - scenario_opens_at)


def scaled_rates(rates: tuple[Rate, ...], scale: float) -> tuple[Rate, ...]:
    """`rates` times `scale` in whole units a week, each week's running total the nearest
    whole number to the exact one; equal weeks in a row make one rate."""
    first = rates[0].from_week
    weeks = max(SCALED_WEEKS, rates[-1].from_week + 1 - first)
    out: list[Rate] = []
    total = 0.0
    given = 0
    for week in range(first, first + weeks):
        total += rate_in(rates, week) * scale
        units = math.floor(total + 0.5) - given
        given += units
        if not out or out[-1].per_week != units:
            out.append(Rate(week, units))
    last = round(rates[-1].per_week * scale)
    if out[-1].per_week != last:
        out.append(Rate(first + weeks, last))
    return tuple(out)


def _rate_lists(body: Mapping[str, object]) -> list[tuple[FieldPath, list[object]]]:
    """Each list of weekly rates in the section, with its place."""
    found: list[tuple[FieldPath, list[object]]] = []
    for group, inner, key in (("lines", None, "capacity"), ("components", "suppliers", "supply")):
        items = body.get(group)
        for i, item in enumerate(items if isinstance(items, list) else []):
            holders = (
                [((group, i), item)]
                if inner is None
                else [
                    ((group, i, inner, j), s)
                    for j, s in enumerate(item.get(inner, []) if isinstance(item, dict) else [])
                ]
            )
            for at, holder in holders:
                rates = holder.get(key) if isinstance(holder, dict) else None
                if isinstance(rates, list):
                    found.append((("production", *at, key), rates))
    return found


def _field_path(message: str) -> FieldPath:
    """The place a msgspec error names, as a scenario field path."""
    _, _, where = message.partition(" - at `$")
    return ("production", *(int(i) if i else k for k, i in _PATH_PART.findall(where.rstrip("`"))))


def _dotted(field: str | None) -> FieldPath:
    """A domain error's field (`lines[0].skus`) as a path."""
    if not field:
        return ()
    return tuple(int(i) if i else k for k, i in _PATH_PART.findall("." + field))
