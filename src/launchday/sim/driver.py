"""The load driver: replays a timeline of customer actions against a real server over HTTP.

It is asynchronous and keeps its connections alive. Its client is the small one in
`launchday.sim.http` (httptools parsing, no session layers): a launch peak of about
7,000 orders/s has to come from one core, which aiohttp tops out near 4,000/s on and
httpx near 400/s (see bench/driver_bench.py).

Each action is due at `opens + at / speed` in real time. A scheduler releases actions
when they fall due onto a queue that a fixed pool of workers drains; an action that a
busy pool sends late counts as lag, and the replay reports its lag instead of
drifting silently.

What the scenario fixes is when orders reach the server, which stamps them on arrival;
a request takes a few milliseconds to get there and be stamped, and a rehearsal's speed
multiplies that into launch seconds (5 ms at x1000 is 5 launch seconds). So the driver
sends each action early by `lead`: it reads every acknowledged order's `placed_at`,
compares it with the time the scenario gave that order, and moves `lead` by the mean
of the recent residuals (an integral controller, bounded by MAX_LEAD_SECONDS). The
mean, not the median: how many orders cross a milestone the wrong way is the rate
there times the mean delay, so that is the figure to bring to zero. Through a waiting
room a buyer's journey (join, poll, order) takes longer than one request, so buyers
join early by a lead of its own, learnt the same way from their orders' stamps (the
pre-queue, which waits for the opening, and lapsing buyers teach it nothing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from launchday.sim.admission_plan import Lapse
from launchday.sim.customers import Event, PlannedOrder, SimCustomer
from launchday.sim.http import HttpClient, Refused, TransportError, error_code
from launchday.sim.lead import Lead
from launchday.sim.replay_stats import ReplayStats
from launchday.sim.steady_collector import steady_collector

_encode = msgspec.json.encode
# Retries for an order refused as overloaded (429/503) or cut off by the network. The
# Idempotency-Key makes every retry safe: the server returns the order it already took.
MAX_ATTEMPTS = 6
# An action sent later than this after its due time (real seconds) counts as late.
LATE_AFTER_SECONDS = 0.05
# How many times a buyer whose admission lapsed joins again before giving up.
MAX_REJOINS = 3
# Bounds of the send-early corrections (launchday.sim.lead).
MAX_LEAD_SECONDS = 0.02
MAX_QUEUE_LEAD_SECONDS = 0.1
# Tries of a lock sent before the payment's webhook reached the server (20 ms apart).
PAID_PATIENCE = 100
# The shortest wait a ticket is told before polling again (launchday.api.views): part of
# every journey through a waiting room, so the journeys' lead starts from it.
POLL_FLOOR_SECONDS = 0.005


class LoadDriver:
    """Posts customer actions to a launchday server; one instance per replay."""

    def __init__(
        self,
        base_url: str,
        slug: str,
        token_for: Callable[[str], str],
        *,
        connections: int = 64,
        waiting_room: bool = False,
        pre_queue_seconds: float = 0.0,
        lapses: Mapping[str, Lapse] | None = None,
        pay: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Pay each deposit at the rehearsal provider as soon as the order is answered.
        self.pay = pay
        self._paying: dict[str, asyncio.Future[None]] = {}
        self.slug = slug
        self._token_for = token_for
        self._tokens: dict[str, str] = {}
        self.connections = connections
        # With a waiting room each buyer joins it, polls as told, and orders once
        # admitted; buyers due in the first `pre_queue_seconds` wait for the opening.
        self.waiting_room = waiting_room
        self.pre_queue_seconds = pre_queue_seconds
        # Buyers who let their admission lapse and come back (launchday.sim.admission_plan).
        self.lapses: Mapping[str, Lapse] = lapses or {}
        self._opens = 0.0  # time.monotonic() of the opening, once replaying
        self.order_ids: dict[str, str] = {}
        # Buyers whose order a store's staff place: customer -> (store, the staff's key).
        self.walk_ins: Mapping[str, tuple[str, str]] = {}
        # Orders sent but not yet answered: a lock or cancel due meanwhile waits for them.
        self._in_flight: dict[str, asyncio.Event] = {}
        self.stats = ReplayStats()
        self._client: HttpClient | None = None
        self._opens_at: datetime | None = None
        self._speed = 1.0
        self._order_lead = Lead(MAX_LEAD_SECONDS)
        self._queue_lead = Lead(MAX_QUEUE_LEAD_SECONDS)

    async def __aenter__(self) -> LoadDriver:
        self._client = HttpClient(self.base_url, connections=self.connections, timeout=60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()

    async def warm_up(self, customers: Iterable[str]) -> None:
        """Open every connection and sign the first customers' tokens before the opening.

        A browser crowd arrives with its connections and sessions already made; without
        this the first second would be spent on TCP handshakes and signatures.
        """
        for customer in customers:
            self.bearer(customer)
        await asyncio.gather(
            *(self.request("GET", "/api/v1/time") for _ in range(self.connections))
        )
        # A journey through a waiting room is a join, a poll after the floor and an order:
        # start its lead there, from a round trip measured now, and learn the rest.
        trips = []
        for _ in range(3):
            started = time.monotonic()
            await self.request("GET", "/api/v1/time")
            trips.append(time.monotonic() - started)
        round_trip = sorted(trips)[1]
        self._queue_lead = Lead(MAX_QUEUE_LEAD_SECONDS, POLL_FLOOR_SECONDS + 3 * round_trip)
        self.stats.queue_lead = self._queue_lead.seconds

    def bearer(self, customer: str) -> str:
        token = self._tokens.get(customer)
        if token is None:
            token = self._tokens[customer] = self._token_for(customer)
        return f"Bearer {token}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One call (JSON `body` or `raw` bytes); retries overload and dropped connections.

        Retrying is safe: orders carry an Idempotency-Key, and locks, cancels and imports
        give the same result when repeated.
        """
        assert self._client is not None, "use `async with LoadDriver(...)`"
        data = raw if body is None else _encode(body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        for attempt in range(MAX_ATTEMPTS):
            try:
                status, answer_headers, payload = await self._client.request(
                    method, path, data, all_headers
                )
                retry_after = answer_headers.get("retry-after")
            except (TimeoutError, TransportError):
                self.stats.transport_errors += 1
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            if status in (429, 503) and attempt + 1 < MAX_ATTEMPTS:
                self.stats.retries += 1
                await asyncio.sleep(min(float(retry_after or 1), 5.0))
                continue
            return status, msgspec.json.decode(payload) if payload else None
        return 599, {"error": {"code": "unreachable"}}

    async def place(
        self,
        customer: str,
        sku: str,
        profile: Any | None,
        key: str,
        at: float | None = None,
        admission_token: str | None = None,
        held: bool = False,
    ) -> str:
        """Place an order due at launch second `at`; returns its id or raises Refused.

        `held`: the order waited for its time after an admission came early, so its stamp
        teaches the orders' lead, not the journeys'.
        """
        body: dict[str, Any] = {"sku": sku}
        if profile is not None:
            body["profile"] = profile
        headers = {"Authorization": self.bearer(customer), "Idempotency-Key": key}
        if admission_token is not None:
            headers["Admission-Token"] = admission_token
        path = f"/api/v1/launches/{self.slug}/orders"
        if customer in self.walk_ins:  # a walk-in buyer: the store's staff order for them
            store, staff_key = self.walk_ins[customer]
            path = f"/api/v1/stores/{store}/launches/{self.slug}/orders"
            body["customer"], headers["Authorization"] = customer, f"Bearer {staff_key}"
        status, answer = await self.request("POST", path, body=body, headers=headers)
        if status != 201:
            raise Refused(status, error_code(answer))
        if self.pay and answer.get("payment"):
            # Paid beside the schedule, as a buyer's app does: the next actions wait not.
            task = asyncio.ensure_future(self._pay(answer["payment"]))
            self._paying[customer] = task
            task.add_done_callback(lambda _: self._paying.pop(customer, None))
        if at is not None and self._opens_at is not None:
            placed = datetime.fromisoformat(answer["placed_at"])
            displacement = (placed - self._opens_at).total_seconds() - at
            self.stats.stamps.append((at, displacement))
            residual = displacement / self._speed
            lead = self._order_lead if admission_token is None or held else self._queue_lead
            lead.correct(residual)
            self.stats.lead, self.stats.queue_lead = (
                self._order_lead.seconds,
                self._queue_lead.seconds,
            )
        return str(answer["id"])

    async def _pay(self, payment: dict[str, Any]) -> None:
        """What the buyer's app does next: pay the deposit with the intent's secret."""
        status, answer = await self.request(
            "POST",
            f"/api/v1/rehearsal-payments/{payment['intent_id']}/pay",
            body={"client_secret": payment["client_secret"]},
        )
        if status == 200:
            self.stats.payments += 1
            self.stats.paid_minor += int(payment["amount_minor"])
        else:
            self.stats.refusals[f"pay:{error_code(answer)}"] += 1

    async def payments_sent(self) -> None:
        """Wait for the payments still on their way."""
        while self._paying:
            await asyncio.wait(list(self._paying.values()))

    async def change(self, customer: str, action: str) -> None:
        """Lock or cancel the customer's order (once the order itself has been answered,
        and paid: a lock before the provider's word reaches the server is retried)."""
        answered = self._in_flight.get(customer)
        if answered is not None:
            await answered.wait()
        paying = self._paying.get(customer)
        if paying is not None:
            await paying
        order_id = self.order_ids.get(customer)
        if order_id is None:
            self.stats.skipped += 1  # the order itself was refused: nothing to change
            return
        for _ in range(PAID_PATIENCE):
            status, answer = await self.request(
                "POST",
                f"/api/v1/orders/{order_id}/{action}",
                headers={"Authorization": self.bearer(customer)},
            )
            if not (self.pay and status == 409 and error_code(answer) == "not_paid"):
                break
            await asyncio.sleep(0.02)
        if status != 200:
            self.stats.refusals[f"{action}:{error_code(answer)}"] += 1
        elif action == "lock":
            self.stats.locks += 1
        else:
            self.stats.cancels += 1

    async def perform(self, event: Event) -> None:
        """Do what one simulated customer does at one moment."""
        customer = event.customer
        if event.kind != "order":
            await self.change(customer.id, event.kind)
            return
        planned = customer.order
        assert planned is not None
        answered = self._in_flight[customer.id] = asyncio.Event()
        try:
            await self._order(customer, planned)
        finally:
            answered.set()
            del self._in_flight[customer.id]

    async def through_waiting_room(self, event: Event) -> None:
        """Join the queue, poll as the server advises, then order with the admission token."""
        customer = event.customer
        planned = customer.order
        assert planned is not None
        # Registered when dispatched, so a lock due meanwhile waits for this order.
        answered = self._in_flight.setdefault(customer.id, asyncio.Event())
        try:
            token = await self._wait_for_admission(customer.id)
            if token is None:
                self.stats.orders_failed += 1
                return
            await self._order(customer, planned, token)
        finally:
            answered.set()
            del self._in_flight[customer.id]

    async def _wait_for_admission(self, customer: str) -> str | None:
        """Join, poll as told, and return the admission token; come back when it lapses."""
        auth = {"Authorization": self.bearer(customer)}
        path = f"/api/v1/launches/{self.slug}/queue"
        lapse = self.lapses.get(customer)
        status, ticket = await self.request("POST", path, headers=auth)
        if status not in (200, 201):
            self.stats.refusals[f"queue:{error_code(ticket)}"] += 1
            return None
        self.stats.queue_joined += 1
        for _ in range(MAX_REJOINS + 1):
            while ticket["state"] == "waiting":
                await asyncio.sleep(float(ticket["poll_after_seconds"] or 1.0))
                status, ticket = await self.request(
                    "GET", f"{path}/{ticket['ticket']}", headers=auth
                )
                self.stats.queue_polls += 1
                if status != 200:
                    self.stats.refusals[f"queue:{error_code(ticket)}"] += 1
                    return None
            if ticket["state"] == "admitted":
                self.stats.queue_admitted += 1
                if lapse is None:
                    return str(ticket["admission_token"])
                # A planned lapse: step away until the time the scenario has them order.
                self.stats.queue_lapses += 1
                back_at = self._opens + lapse.comeback_at / self._speed - self._queue_lead.seconds
                await asyncio.sleep(max(0.0, back_at - time.monotonic()))
                lapse = None
            # Coming back to a lapsed admission: joining again rejoins (see the API).
            rejoins = int(ticket.get("rejoins", 0))
            status, ticket = await self.request("POST", path, headers=auth)
            if status != 200:
                self.stats.refusals[f"queue:{error_code(ticket)}"] += 1
                return None
            self.stats.queue_rejoined += int(ticket.get("rejoins", 0)) > rejoins
        self.stats.refusals["queue:expired"] += 1
        return None

    async def _order(
        self, customer: SimCustomer, planned: PlannedOrder, admission_token: str | None = None
    ) -> None:
        # A customer who registered interest already gave the profile; others give it now.
        profile = customer.profile if customer.registered_at is None else None
        try:
            # Only buyers who joined at their own time teach the journeys' lead: not the
            # pre-queue, admitted from the opening on, nor those who let an admission lapse.
            joined_on_time = planned.at > self.pre_queue_seconds and customer.id not in self.lapses
            held = False
            if admission_token is not None and planned.at > self.pre_queue_seconds:
                # Admitted before the order's time (a journey faster than its lead, a
                # lapsed buyer back early): wait for it, as a direct order does.
                send_at = self._opens + planned.at / self._speed - self._order_lead.seconds
                held = send_at > time.monotonic()
                await asyncio.sleep(max(0.0, send_at - time.monotonic()))
            due = planned.at if admission_token is None or joined_on_time or held else None
            self.order_ids[customer.id] = await self.place(
                customer.id,
                planned.sku,
                profile,
                f"{customer.id}-order",
                due,
                admission_token,
                held,
            )
        except Refused as refusal:
            self.stats.refusals[refusal.code] += 1
            if refusal.code != "sold_out" or planned.fallback_sku is None:
                self.stats.orders_failed += 1
                return
            try:
                self.order_ids[customer.id] = await self.place(
                    customer.id,
                    planned.fallback_sku,
                    profile,
                    f"{customer.id}-fallback",
                    None,
                    admission_token,
                )
                self.stats.fallbacks += 1
            except Refused as second:
                self.stats.refusals[second.code] += 1
                self.stats.orders_failed += 1
                return
        self.stats.orders_acked += 1

    def _starts_at(self, event: Event) -> float:
        lapse = self.lapses.get(event.customer.id) if event.kind == "order" else None
        return event.at if lapse is None else lapse.join_at

    def _in_pre_queue(self, event: Event) -> bool:
        return (
            event.kind == "order"
            and event.at <= self.pre_queue_seconds
            and event.customer.id not in self.lapses
        )

    async def replay(
        self,
        events: Iterable[Event],
        *,
        opens_at: datetime,
        opens_in: float,
        speed: float,
        on_tick: Callable[[ReplayStats], Awaitable[None] | None] | None = None,
    ) -> ReplayStats:
        """Replay `events` (sorted by launch seconds); the launch opens `opens_in` seconds
        away. The collector holds off full collections meanwhile (steady_collector)."""
        self._opens = time.monotonic() + opens_in
        self._opens_at, self._speed = opens_at, speed
        with steady_collector():
            return await self._replay(events, on_tick)

    async def _replay(
        self, events: Iterable[Event], on_tick: Callable[[ReplayStats], Any] | None
    ) -> ReplayStats:
        opens, speed = self._opens, self._speed
        queue: asyncio.Queue[tuple[float, Event] | None] = asyncio.Queue()
        stats = self.stats

        async def worker() -> None:
            while (item := await queue.get()) is not None:
                due, event = item
                lag = time.monotonic() - due
                stats.lags.append(lag)
                stats.max_lag = max(stats.max_lag, lag)
                if lag > LATE_AFTER_SECONDS:
                    stats.late += 1
                    stats.late_by_second[int(due - opens)] += 1
                stats.sent += 1
                await self.perform(event)

        async def ticker() -> None:
            while True:
                stats.launch_elapsed = max(0.0, (time.monotonic() - opens) * speed)
                if on_tick is not None:
                    result = on_tick(stats)
                    if result is not None:
                        await result
                await asyncio.sleep(0.25)

        queued: list[asyncio.Task[None]] = []

        def through_queue(event: Event, due: float) -> None:
            stats.due += 1
            stats.sent += 1
            stats.lags.append(max(time.monotonic() - due, 0.0))
            self._in_flight.setdefault(event.customer.id, asyncio.Event())
            queued.append(asyncio.create_task(self.through_waiting_room(event)))

        def to_workers(event: Event, due: float) -> None:
            stats.due += 1
            queue.put_nowait((due, event))

        async def release(
            items: list[tuple[float, Event]], lead: Lead, send: Callable[[Event, float], None]
        ) -> None:
            """Send each item when it falls due, `lead` early (items sorted by time)."""
            for starts_at, event in items:
                # Early by the lead, but never before the doors open (refused: not_open).
                due = max(opens + starts_at / speed - lead.seconds, opens)
                delay = due - time.monotonic()
                if delay > 0.001:
                    await asyncio.sleep(delay)
                send(event, due)

        workers = [asyncio.create_task(worker()) for _ in range(self.connections)]
        ticking = asyncio.create_task(ticker())
        # When each action starts: a lapsing buyer joins the queue early enough to come
        # back at its order's time.
        pending = sorted(((self._starts_at(e), e) for e in events), key=lambda pair: pair[0])
        journeys: list[tuple[float, Event]] = []
        try:
            if self.waiting_room:
                # Those due in the first seconds are already waiting when orders open.
                for event in [e for _, e in pending if self._in_pre_queue(e)]:
                    through_queue(event, time.monotonic())
                journeys = [(at, e) for at, e in pending if e.kind == "order"]
                journeys = [(at, e) for at, e in journeys if not self._in_pre_queue(e)]
                pending = [(at, e) for at, e in pending if e.kind != "order"]
                # Released on their own schedule, journeys are known to be under way from
                # the start: a lock due with its order waits for it.
                for _, event in journeys:
                    self._in_flight[event.customer.id] = asyncio.Event()
            await asyncio.gather(
                release(journeys, self._queue_lead, through_queue),
                release(pending, self._order_lead, to_workers),
            )
            for _ in workers:
                queue.put_nowait(None)
            await asyncio.gather(*workers, *queued)
        finally:
            ticking.cancel()
            for task in (*workers, *queued):
                task.cancel()
        stats.launch_elapsed = max(0.0, (time.monotonic() - opens) * speed)
        if on_tick is not None:
            result = on_tick(stats)
            if result is not None:
                await result
        return stats
