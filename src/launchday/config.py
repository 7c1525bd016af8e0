"""Settings, built once from the environment and passed to `create_app`: values only,
nothing is connected to here."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse, urlunparse

from launchday.identity.issuers import Issuer, IssuerConfigError, read_issuers

DEFAULT_DB = "sqlite:///./launchday.db"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# A host whose clock is further than this from the database's stops taking buyers
# (docs/cluster.md): NTP keeps hosts within milliseconds; a quarter second is a fault.
DEFAULT_MAX_CLOCK_OFFSET_SECONDS = 0.25
# RFC 7518 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32


def redacted(url: str) -> str:
    """A database URL without its password, for printing and logs."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
    return urlunparse(parsed._replace(netloc=netloc))


class ConfigError(ValueError):
    """A setting has a value the server cannot run with."""


def is_postgres(url: str) -> bool:
    """Whether `url` names a PostgreSQL database (libpq's URL forms)."""
    return url.startswith(("postgresql://", "postgres://"))


def check_replica(db_url: str, replica_url: str) -> None:
    """Refuse a replica that cannot be one: only a PostgreSQL database has standbys, and
    a standby of it is reached through a PostgreSQL URL."""
    if not is_postgres(replica_url):
        raise ConfigError(
            "the replica (--replica, LAUNCHDAY_REPLICA_DB) must be a PostgreSQL URL"
            " naming a hot standby, postgresql://user@host:port/database"
        )
    if not is_postgres(db_url):
        raise ConfigError(
            "a replica needs a PostgreSQL database (--db, LAUNCHDAY_DB): SQLite has no"
            " standby to read from"
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs to know at start."""

    db_url: str = DEFAULT_DB
    """`LAUNCHDAY_DB`: `sqlite:///path/to/file.db` (default `./launchday.db`) or
    `postgresql://user@host:port/database`."""

    admin_key: str = ""
    """`LAUNCHDAY_ADMIN_KEY`: bearer key for admin calls; generated at start when unset."""

    admin_key_generated: bool = False
    """True when the admin key was generated here (the server prints it once)."""

    secret: bytes | None = None
    """`LAUNCHDAY_SECRET`: HMAC key for customer and admission tokens. None: the one the
    database keeps (beside a SQLite file, in a PostgreSQL table), read when it opens."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """`LAUNCHDAY_MAX_BODY_BYTES`: larger request bodies get 413 `too_large` (default 64 KiB)."""

    stripe_key: str | None = None
    """`LAUNCHDAY_STRIPE_KEY`: the Stripe secret key; launches may then take deposits
    through Stripe (`payments.provider: stripe`)."""

    stripe_webhook_secret: str = ""
    """`LAUNCHDAY_STRIPE_WEBHOOK_SECRET`: the signing secret of the Stripe webhook
    endpoint (`/api/v1/payments/stripe/webhook`)."""

    stripe_api_base: str | None = None
    """`LAUNCHDAY_STRIPE_API_BASE`: another Stripe API address (a local test server)."""

    rehearsal_payments: str | None = None
    """`LAUNCHDAY_REHEARSAL_PAYMENTS`: the file the built-in rehearsal provider keeps its
    records in (default: beside a SQLite database, else in the working directory)."""

    issuers: tuple[Issuer, ...] = ()
    """`LAUNCHDAY_ISSUERS`: a TOML file naming the brand's identity providers whose tokens
    customers sign in with (docs/identity.md); tokens of `LAUNCHDAY_SECRET` work too."""

    max_clock_offset_seconds: float | None = DEFAULT_MAX_CLOCK_OFFSET_SECONDS
    """`LAUNCHDAY_MAX_CLOCK_OFFSET`: on PostgreSQL, /healthz answers 503 while this host's
    clock is further than this many seconds from the database's (default 0.25; `off`
    not to check). An embedded SQLite database runs on the one host: nothing to check."""

    replica_url: str | None = None
    """`LAUNCHDAY_REPLICA_DB`: a hot standby of the PostgreSQL database (libpq's URL, the
    multi-host form with `target_session_attrs=standby` or `prefer-standby` too) that
    reports read from, so they never slow the primary (docs/replica.md). Unset: reports
    read the primary."""

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        db_url: str | None = None,
        replica_url: str | None = None,
    ) -> Settings:
        """Read the environment (or `env`); `db_url` overrides `LAUNCHDAY_DB`, and
        `replica_url` `LAUNCHDAY_REPLICA_DB`."""
        env = os.environ if env is None else env
        url = db_url or env.get("LAUNCHDAY_DB") or DEFAULT_DB
        replica = replica_url or env.get("LAUNCHDAY_REPLICA_DB") or None
        if replica is not None:
            check_replica(url, replica)
        admin_key = env.get("LAUNCHDAY_ADMIN_KEY", "")
        generated = not admin_key
        if generated:
            admin_key = secrets.token_urlsafe(24)
        secret = env.get("LAUNCHDAY_SECRET", "").encode() or None
        if secret is not None and len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"LAUNCHDAY_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        max_body = int(env.get("LAUNCHDAY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
        stripe_key = env.get("LAUNCHDAY_STRIPE_KEY") or None
        stripe_secret = env.get("LAUNCHDAY_STRIPE_WEBHOOK_SECRET", "")
        if stripe_key is not None and not stripe_secret:
            raise ConfigError("LAUNCHDAY_STRIPE_KEY needs LAUNCHDAY_STRIPE_WEBHOOK_SECRET")
        issuers_file = env.get("LAUNCHDAY_ISSUERS")
        try:
            issuers = read_issuers(issuers_file) if issuers_file else ()
        except IssuerConfigError as error:
            raise ConfigError(f"LAUNCHDAY_ISSUERS: {error}") from None
        offset = env.get("LAUNCHDAY_MAX_CLOCK_OFFSET", "").strip()
        try:
            max_offset = (
                None if offset == "off" else float(offset or DEFAULT_MAX_CLOCK_OFFSET_SECONDS)
            )
        except ValueError:
            raise ConfigError("LAUNCHDAY_MAX_CLOCK_OFFSET must be seconds or off") from None
        if max_offset is not None and not max_offset > 0:
            raise ConfigError("LAUNCHDAY_MAX_CLOCK_OFFSET must be more than 0 seconds")
        return cls(
            url,
            admin_key,
            generated,
            secret,
            max_body,
            stripe_key=stripe_key,
            stripe_webhook_secret=stripe_secret,
            stripe_api_base=env.get("LAUNCHDAY_STRIPE_API_BASE") or None,
            rehearsal_payments=env.get("LAUNCHDAY_REHEARSAL_PAYMENTS") or None,
            issuers=issuers,
            max_clock_offset_seconds=max_offset,
            replica_url=replica,
        )

    def rehearsal_records(self) -> str:
        """Where the rehearsal provider keeps its records."""
        if self.rehearsal_payments:
            return self.rehearsal_payments
        if self.db_url.startswith("sqlite:///") and self.db_url != "sqlite:///:memory:":
            return self.db_url.removeprefix("sqlite:///") + ".rehearsal-payments"
        return "launchday-rehearsal-payments.db"
