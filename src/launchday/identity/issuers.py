"""The brand's identity providers: each issuer's `iss`, the audience its tokens must name,
where its public keys are published (a JWKS by URL or in a file), the algorithms it signs
with, the clock skew forgiven and the claim that names the customer.

Read from a TOML file (`LAUNCHDAY_ISSUERS`), one `[[issuer]]` table each:

    [[issuer]]
    name = "brand-app"
    iss = "https://id.brand.example"
    audience = "launchday"
    jwks_url = "https://id.brand.example/.well-known/jwks.json"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec

# Only public-key algorithms: an issuer's keys are public, and HS256 "signed" with a
# public key is a signature anyone can make. `none` is never accepted.
PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "ES256", "EdDSA")
MAX_LEEWAY_SECONDS = 300


class IssuerConfigError(ValueError):
    """The issuers' file cannot be used as it is; the message says which entry and why."""


@dataclass(frozen=True, slots=True)
class Issuer:
    """One identity provider whose tokens launchday accepts."""

    name: str
    iss: str
    audience: tuple[str, ...]
    jwks_url: str | None = None
    jwks_file: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_seconds: float = 30.0
    customer_claim: str = "sub"
    refresh_seconds: float = 300.0
    """How often its keys are read again, so that a key it withdrew stops verifying."""
    unknown_kid_seconds: float = 60.0
    """At most this often, a token naming a key not yet known has the keys read again
    (a flood of made-up key ids must not become a flood of fetches)."""


class _Entry(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str
    iss: str
    audience: str | list[str]
    jwks_url: str | None = None
    jwks_file: str | None = None
    algorithms: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    leeway_seconds: float = 30.0
    customer_claim: str = "sub"
    refresh_seconds: float = 300.0
    unknown_kid_seconds: float = 60.0


class _File(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    issuer: list[_Entry]


def read_issuers(path: str | Path) -> tuple[Issuer, ...]:
    """The issuers of the TOML file at `path`, each checked (IssuerConfigError)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise IssuerConfigError(f"cannot read the issuers' file {path}: {error}") from None
    return parse_issuers(data, str(path))


def parse_issuers(data: bytes | str, source: str = "the issuers' file") -> tuple[Issuer, ...]:
    try:
        entries = msgspec.toml.decode(data, type=_File).issuer
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise IssuerConfigError(f"{source}: {error}") from None
    issuers = tuple(_checked(entry, f"{source}: issuer {entry.name!r}") for entry in entries)
    for attribute in ("name", "iss"):
        values = [getattr(issuer, attribute) for issuer in issuers]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise IssuerConfigError(f"{source}: two issuers with the same {attribute}: {repeated}")
    return issuers


def _checked(entry: _Entry, where: str) -> Issuer:
    audience = (entry.audience,) if isinstance(entry.audience, str) else tuple(entry.audience)
    if not entry.name or not entry.iss or not audience or not all(audience):
        raise IssuerConfigError(f"{where}: name, iss and audience must not be empty")
    if (entry.jwks_url is None) == (entry.jwks_file is None):
        raise IssuerConfigError(f"{where}: give exactly one of jwks_url and jwks_file")
    if entry.jwks_url is not None and not entry.jwks_url.startswith(("https://", "http://")):
        raise IssuerConfigError(f"{where}: jwks_url must be an http(s) URL")
    refused = sorted(set(entry.algorithms) - PUBLIC_KEY_ALGORITHMS)
    if refused or not entry.algorithms:
        accepted = ", ".join(sorted(PUBLIC_KEY_ALGORITHMS))
        raise IssuerConfigError(
            f"{where}: algorithms must be public-key ones ({accepted}), not {refused or 'none'}"
        )
    if not 0 <= entry.leeway_seconds <= MAX_LEEWAY_SECONDS:
        raise IssuerConfigError(f"{where}: leeway_seconds must be 0 to {MAX_LEEWAY_SECONDS}")
    if entry.refresh_seconds <= 0 or entry.unknown_kid_seconds < 0:
        raise IssuerConfigError(f"{where}: refresh_seconds must be positive")
    if not entry.customer_claim:
        raise IssuerConfigError(f"{where}: customer_claim must name a claim")
    return Issuer(
        entry.name,
        entry.iss,
        audience,
        entry.jwks_url,
        entry.jwks_file,
        tuple(entry.algorithms),
        entry.leeway_seconds,
        entry.customer_claim,
        entry.refresh_seconds,
        entry.unknown_kid_seconds,
    )
