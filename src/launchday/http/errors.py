"""Error codes to HTTP statuses, in one place, and the one error body shape."""

from __future__ import annotations

import msgspec

STATUS_OF_CODE: dict[str, int] = {
    "invalid_body": 400,
    "missing_header": 400,
    "invalid_signature": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "admission_required": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "already_exists": 409,
    "not_open": 409,
    "sold_out": 409,
    "limit_reached": 409,
    "idempotency_conflict": 409,
    "locked": 409,
    "cancelled": 409,
    "expired": 409,
    "not_paid": 409,
    "booking_closed": 409,
    "not_ready": 409,
    "too_large": 413,
    "unsupported_media_type": 415,
    "validation": 422,
    "overloaded": 503,
    "unavailable": 503,
    "payments_unavailable": 503,
    "internal": 500,
}

_encode = msgspec.json.Encoder().encode


class ErrorDetail(msgspec.Struct, frozen=True):
    code: str
    message: str
    field: str | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    """Every error response: `{"error": {"code", "message", "field"}}`."""

    error: ErrorDetail


class HttpError(Exception):
    """A refusal raised by the HTTP layer itself (auth, headers, body)."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    """The JSON of `{"error": {"code", "message", "field"}}`."""
    return _encode(ErrorBody(ErrorDetail(code=code, message=message, field=field)))
