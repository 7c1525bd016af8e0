"""The composition root: `create_app(settings)` wires the store, the use cases, the API
and the dashboard into one ASGI app. Nothing connects until the app starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from launchday.api import api_routes
from launchday.api.auth import Authenticator
from launchday.api.context import ApiContext
from launchday.config import Settings
from launchday.domain.access import AuditEntry
from launchday.domain.errors import DomainError, PaymentsUnavailable
from launchday.http.asgi import HttpApp
from launchday.http.errors import HttpError
from launchday.http.metrics import Metrics
from launchday.http.routing import Request, Response, Route
from launchday.identity.issued_tokens import IssuedTokens
from launchday.payments.rehearsal import RehearsalProvider
from launchday.payments.stripe_provider import StripeProvider
from launchday.payments.webhook_sender import WebhookSender
from launchday.services import Services, make_services
from launchday.services.clock_watch import ClockWatch
from launchday.services.ports.payments import PaymentProvider
from launchday.services.ports.store import Overloaded, Store, StoreUnavailable
from launchday.store import open_store
from launchday.wall_clock import utc_now
from launchday.web.dashboard import Dashboard

log = logging.getLogger("launchday.app")

# How often the issuers' key sets are asked whether they are due to be read again (each
# has its own refresh_seconds).
KEYS_CHECKED_EVERY_SECONDS = 1.0
# How much of a change's request body the audit keeps.
AUDIT_BODY_CHARS = 4000


def refusal_of(error: Exception) -> HttpError | None:
    """What the use cases' exceptions mean over HTTP (None: a bug, answered 500)."""
    if isinstance(error, PaymentsUnavailable):
        headers = {"Retry-After": str(error.retry_after)}
        return HttpError(error.code, error.message, error.field, headers=headers)
    if isinstance(error, DomainError):
        return HttpError(error.code, error.message, error.field)
    if isinstance(error, Overloaded):
        return HttpError("overloaded", str(error), headers={"Retry-After": str(error.retry_after)})
    if isinstance(error, StoreUnavailable):
        return HttpError("unavailable", str(error), headers={"Retry-After": str(error.retry_after)})
    return None


class App(HttpApp):
    """launchday: the API and the dashboard over one store."""

    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.webhooks = WebhookSender()
        self.rehearsal_payments = RehearsalProvider(
            Path(settings.rehearsal_records()), settings.secret
        )
        self.rehearsal_payments.deliver = self.webhooks.send
        providers: dict[str, PaymentProvider] = {"rehearsal": self.rehearsal_payments}
        if settings.stripe_key is not None:
            providers["stripe"] = StripeProvider(
                settings.stripe_key, settings.stripe_webhook_secret, settings.stripe_api_base
            )
        self.services: Services = make_services(store, clock, settings.secret, providers)
        self._payments_loop: asyncio.Task[None] | None = None
        self.auth = Authenticator(
            settings.secret,
            settings.admin_key,
            IssuedTokens(settings.issuers),
            self.services.access.check,
        )
        self._keys_loop: asyncio.Task[None] | None = None
        self._access_loop: asyncio.Task[None] | None = None
        self._secrets_loop: asyncio.Task[None] | None = None
        self._clock_loop: asyncio.Task[None] | None = None
        metrics = Metrics()
        self.dashboard = Dashboard(self.services, clock)
        self.clock_watch = ClockWatch(store, clock, settings.max_clock_offset_seconds)
        context = ApiContext(self.services, clock, metrics, self.clock_watch)
        routes: list[Route] = []
        routes += api_routes(context, lambda: routes)
        routes += self.dashboard.routes()
        super().__init__(
            routes,
            authenticate=self.auth,
            refusals=refusal_of,
            metrics=metrics,
            max_body_bytes=settings.max_body_bytes,
            changed=self._audit,
        )
        store.set_commit_observer(metrics.commit_batch.observe)
        self._started = False

    async def _audit(self, request: Request, response: Response) -> None:
        """A change made with a person's key, kept in the audit before it is answered."""
        caller = request.caller
        assert caller.role is not None
        await self.services.access.record(
            AuditEntry(
                at=self.clock(),
                key=caller.key or caller.role,
                role=caller.role,
                method=request.method,
                path=request.path,
                status=response.status,
                change=request.body[:AUDIT_BODY_CHARS].decode("utf-8", "replace"),
                launch=request.params.get("slug") or caller.launch,
            )
        )

    async def startup(self) -> None:
        if self._started:
            return
        await self.store.start()
        secret = self.settings.secret
        if secret is None:
            # Kept with the data when the environment gives none: read once it is open.
            secret = await self.store.instance_secret()
            self.rehearsal_payments.use_secret(secret)
        # The secret in force (the instance's, or its last rotation's) signs and checks
        # launchday's own tokens, with any it replaced still checking until they retire.
        secrets = self.services.token_secrets
        secrets.on_change(lambda now: self.auth.use_secrets(now.signing, now.also_verifying))
        secrets.on_change(
            lambda now: self.services.tokens.use_secrets(now.signing, now.also_verifying)
        )
        secrets.start(secret)
        self._secrets_loop = asyncio.ensure_future(secrets.run())
        self._payments_loop = asyncio.ensure_future(self.services.payments.run())
        self.services.access.read_keys()
        self._access_loop = asyncio.ensure_future(self.services.access.run())
        if self.auth.issued.key_sets:
            await self.auth.issued.read_all()
            self._keys_loop = asyncio.ensure_future(self._keep_issuers_keys())
        # Hosts sharing a database check their clocks against its own (the first
        # measurement inside the loop, before the first request is answered).
        self._clock_loop = asyncio.ensure_future(self.clock_watch.run())
        await asyncio.sleep(0)
        self._started = True

    async def _keep_issuers_keys(self) -> None:
        """The issuers' keys read again when due: a key withdrawn stops verifying."""
        while True:
            await asyncio.sleep(KEYS_CHECKED_EVERY_SECONDS)
            try:
                self.auth.forget_withdrawn(await self.auth.issued.refresh_due())
            except Exception:
                log.exception("reading the issuers' keys: will try again")

    async def shutdown(self) -> None:
        if self._started:
            loops = (
                self._payments_loop,
                self._keys_loop,
                self._access_loop,
                self._secrets_loop,
                self._clock_loop,
            )
            for loop in loops:
                if loop is not None:
                    loop.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await loop
            await self.auth.issued.aclose()
            await self.services.deliveries.stop()
            await self.services.access.note_use()
            await self.webhooks.flush()
            await self.webhooks.aclose()
            await self.services.payments.aclose()
            await self.store.stop()
            self._started = False


def create_app(
    settings: Settings, store: Store | None = None, clock: Callable[[], datetime] = utc_now
) -> App:
    """The ASGI app for `settings`; nothing connects until startup."""
    return App(settings, store or open_store(settings.db_url, clock, settings.replica_url), clock)
