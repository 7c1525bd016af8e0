"""Money as the payment provider counts it: integers in the currency's minor unit.

The API speaks whole currency units (a 5,000 yuan deposit is `5000`); a provider
speaks minor units (Stripe's `amount` for 5,000 yuan is `500000`, for 5,000 yen
`5000`). The conversion is written here once, with each currency's exponent from
ISO 4217: two decimals unless the table below says otherwise.
"""

from __future__ import annotations

from launchday.domain.errors import ValidationFailed

# ISO 4217 currencies whose minor unit is not a hundredth.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (CNY 2, JPY 0, KWD 3)."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: int, currency: str) -> int:
    """Whole units to the provider's minor units."""
    return amount * _scale(currency)


def to_whole(minor: int, currency: str) -> int:
    """The provider's minor units to whole units; refused if not a whole amount (a
    launch's deposits are whole units, so anything else is not one of ours)."""
    whole, rest = divmod(minor, _scale(currency))
    if rest:
        raise ValidationFailed(
            f"{minor} minor units of {currency} is not a whole amount", field="amount"
        )
    return whole


def _scale(currency: str) -> int:
    scale: int = 10 ** exponent(currency)
    return scale
