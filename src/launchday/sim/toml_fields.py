"""Checked fields of a parsed TOML document: each wrong value a `ScenarioError` at its line.

`FieldReader` holds the text it was parsed from, so an error names the file, the
dotted field (`variants[2].mix`) and the line, found by `key_line`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Final

from launchday.sim.scenario import MAX_SECONDS, ScenarioError
from launchday.sim.toml_positions import key_line

# A field's place in the TOML document: ("variants", 2, "mix") is variants[2].mix.
FieldPath = tuple[str | int, ...]


_DURATION = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(value: str) -> float:
    """Seconds in a duration such as `45s`, `2m`, `18h`, `7d`, `1h30m`; ValueError otherwise."""
    if not _DURATION.fullmatch(value):
        raise ValueError(f"{value!r} is not a duration like 45s, 2m, 18h or 7d")
    return float(sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value)))


def field_name(path: FieldPath) -> str:
    """`("demand", "milestones", 1, "after")` as `demand.milestones[1].after`."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


class FieldReader:
    """Reads one parsed document, turning every problem into a ScenarioError with its line."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file

    def error(self, path: FieldPath, reason: str) -> ScenarioError:
        return ScenarioError(
            reason, file=self.file, field=field_name(path), line=key_line(self.text, path)
        )

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
            raise self.error(at, f"expected a whole number, got {shown(value)}")
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
            raise self.error(at, f"expected a number, got {shown(value)}")
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
            raise self.error(at, f"expected a string, got {shown(value)}")
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
            raise self.error(at, f"expected a time like 2025-06-26T14:00:00Z, got {shown(value)}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.error(at, "the time needs a zone, e.g. a trailing Z for UTC")
        return value.astimezone(UTC)

    def duration(self, table: Mapping[str, object], at: FieldPath) -> float:
        value = self.required(table, at)
        if not isinstance(value, str):
            raise self.error(at, f'expected a duration like "2m", got {shown(value)}')
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(at, str(exc)) from None
        if not 0 < seconds <= MAX_SECONDS:
            raise self.error(at, f"{value!r} must be more than 0 and at most 366d")
        return seconds


def shown(value: object) -> str:
    """A value as the author wrote it, for messages."""
    kind = type(value).__name__
    text = repr(value)
    return f"{kind} {text[:40]}{'...' if len(text) > 40 else ''}"
