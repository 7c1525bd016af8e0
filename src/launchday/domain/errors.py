"""Every error the domain can raise, each with the stable code clients see.

    DomainError                      base: code, message, field
    ├── ValidationFailed             validation        a value breaks a rule
    ├── NotFound                     not_found         no such launch, variant or order
    ├── AlreadyExists                already_exists    a launch with that slug exists
    ├── NotOpen                      not_open          orders or interest are not open yet
    ├── SoldOut                      sold_out          a limited variant has no unit left
    ├── LimitReached                 limit_reached     the customer's live orders are at the limit
    ├── IdempotencyConflict          idempotency_conflict  key reused with another body
    ├── AdmissionRequired            admission_required  no valid admission token
    ├── Locked                       locked            the order is locked: no cancel
    ├── AlreadyCancelled             cancelled         the order is cancelled: no lock
    ├── OrderExpired                 expired           the order was not paid in time
    ├── NotPaid                      not_paid          the deposit is not paid yet: no lock
    └── PaymentsUnavailable          payments_unavailable  the payment provider is down

The API maps codes to HTTP statuses in one place (`launchday.http.errors`).
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on; carries a stable machine-readable code."""

    code = "error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    code = "validation"


class NotFound(DomainError):
    code = "not_found"


class AlreadyExists(DomainError):
    code = "already_exists"


class NotOpen(DomainError):
    code = "not_open"


class SoldOut(DomainError):
    code = "sold_out"


class LimitReached(DomainError):
    code = "limit_reached"


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"


class AdmissionRequired(DomainError):
    code = "admission_required"


class Locked(DomainError):
    code = "locked"


class AlreadyCancelled(DomainError):
    code = "cancelled"


class OrderExpired(DomainError):
    code = "expired"


class NotPaid(DomainError):
    code = "not_paid"


class PaymentsUnavailable(DomainError):
    """The payment provider did not answer; the caller may retry after `retry_after`
    seconds with the same Idempotency-Key (nothing is charged twice)."""

    code = "payments_unavailable"

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after
