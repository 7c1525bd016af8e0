"""Request bodies: JSON decoded and validated into msgspec types in one step."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from launchday.http.errors import HttpError

S = TypeVar("S")

_decoders: dict[type, msgspec.json.Decoder[Any]] = {}
_FIELD_AT = re.compile(r" - at `\$\.?(.*)`$")
_NAMED_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `([^`]*)`")


def decode(body: bytes, kind: type[S]) -> S:
    """Decode and validate a JSON body, or raise the matching 400/422."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        return decoder.decode(body)  # type: ignore[no-any-return]
    except msgspec.ValidationError as error:
        message = str(error)
        raise HttpError("validation", _FIELD_AT.sub("", message), _field_of(message)) from None
    except msgspec.DecodeError as error:
        raise HttpError("invalid_body", f"the body is not valid JSON: {error}") from None
    except UnicodeDecodeError:
        raise HttpError("invalid_body", "the body is not UTF-8") from None


def _field_of(message: str) -> str | None:
    """The field a msgspec validation message is about, as `variants[0].sku`."""
    at = _FIELD_AT.search(message)
    path = at.group(1) if at else ""
    named = _NAMED_FIELD.match(message)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return path or None
