"""Request bodies: JSON decoded and validated into msgspec types in one step.

An integer field also takes a JSON number with no fraction written as a float (`2.0`):
JSON Schema, and so the OpenAPI document, calls that an integer, and some clients'
encoders write every number that way. msgspec refuses it, so only a body it refused
for that reason is decoded a second, slower way; every other body pays nothing.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from launchday.http.errors import HttpError

S = TypeVar("S")

_decoders: dict[type, msgspec.json.Decoder[Any]] = {}
_FIELD_AT = re.compile(r" - at `\$\.?(.*)`$")
_NAMED_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `([^`]*)`")
# "Expected `int`, got `float`", also for an optional or union field ("`int | null`").
_FLOAT_FOR_INT = re.compile(r"^Expected `[^`]*\bint\b[^`]*`, got `float`")


def decode(body: bytes, kind: type[S]) -> S:
    """Decode and validate a JSON body, or raise the matching 400/422."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        return decoder.decode(body)  # type: ignore[no-any-return]
    except msgspec.ValidationError as error:
        if _FLOAT_FOR_INT.match(str(error)):
            return _decode_whole_floats(body, kind)
        raise _refusal(error) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise _unreadable(error) from None


def _decode_whole_floats(body: bytes, kind: type[S]) -> S:
    """The body with every float that has no fraction read as an integer, then checked
    as strictly as the fast path checks (a float field takes an integer anyway). The
    fast path stops at the first field it refuses, so the rest of the body may yet
    not be JSON at all (cut short, say): refused as such here."""
    try:
        return msgspec.convert(_whole_floats(msgspec.json.decode(body)), kind)
    except msgspec.ValidationError as error:
        raise _refusal(error) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise _unreadable(error) from None


def _unreadable(error: msgspec.DecodeError | UnicodeDecodeError) -> HttpError:
    """The refusal of a body that is not JSON, or not UTF-8."""
    if isinstance(error, UnicodeDecodeError):
        return HttpError("invalid_body", "the body is not UTF-8")
    return HttpError("invalid_body", f"the body is not valid JSON: {error}")


def _whole_floats(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_whole_floats(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_floats(item) for key, item in value.items()}
    return value


def _refusal(error: msgspec.ValidationError) -> HttpError:
    message = str(error)
    return HttpError("validation", _FIELD_AT.sub("", message), _field_of(message))


def _field_of(message: str) -> str | None:
    """The field a msgspec validation message is about, as `variants[0].sku`."""
    at = _FIELD_AT.search(message)
    path = at.group(1) if at else ""
    named = _NAMED_FIELD.match(message)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return path or None
