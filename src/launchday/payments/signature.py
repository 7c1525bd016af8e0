"""Stripe's webhook signature, written once for every provider that signs that way.

The header is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`. Stripe sends one
`v1` entry per live secret while a secret is being rolled, so any one that matches will
do. The timestamp is signed with the body, so a captured request replayed later than the
tolerance is refused even though its signature is good.
"""

from __future__ import annotations

import hashlib
import hmac

from launchday.services.ports.payments import BadSignature

SCHEME = "v1"
DEFAULT_TOLERANCE = 300


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header for `body` sent at `timestamp` (seconds since the epoch)."""
    return f"t={timestamp},{SCHEME}={_digest(secret, body, timestamp)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise BadSignature("the signature's timestamp is not a number") from None
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise BadSignature("the signature header has no timestamp")
    if not signatures:
        raise BadSignature(f"the signature header has no {SCHEME} signature")
    return timestamp, signatures


def verify(
    secret: str, body: bytes, header: str | None, now: float, tolerance: int = DEFAULT_TOLERANCE
) -> None:
    """Return if `header` signs `body` with `secret` within `tolerance` seconds of `now`;
    raise BadSignature otherwise (missing, malformed, forged, too old or from the future)."""
    if not header:
        raise BadSignature("no signature header")
    timestamp, signatures = _parse(header)
    expected = _digest(secret, body, timestamp).encode("ascii")
    # Every entry is compared, so the time taken says nothing about which one matched;
    # bytes, because compare_digest refuses strings that are not ASCII.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    if not matched:
        raise BadSignature("no signature matches the body")
    if abs(now - timestamp) > tolerance:
        raise BadSignature(f"the signature is more than {tolerance} s from now")
