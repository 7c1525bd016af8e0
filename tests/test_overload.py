"""Overload gets a 503 with Retry-After, never a hang, and nothing half-stored."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import httpx

from launchday.app import create_app
from launchday.store.sqlite import SQLiteStore
from launchday.store.writer_store import WriterLimits
from tests.support import ADMIN_KEY, T0, SettableClock, customer_token, launch_body, settings_for


def test_a_full_write_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    clock = SettableClock(T0.replace(hour=16))
    db = tmp_path / "launchday.db"
    # A queue of one: every write arriving while another waits for its commit is refused.
    store = SQLiteStore(str(db), clock, WriterLimits(max_pending=1))
    app = create_app(settings_for(db), store=store, clock=clock)

    async def main() -> list[httpx.Response]:
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                created = await client.post(
                    "/api/v1/launches",
                    json=launch_body(),
                    headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                )
                assert created.status_code == 201
                return list(
                    await asyncio.gather(
                        *(
                            client.post(
                                "/api/v1/launches/yu7-2025/orders",
                                json={"sku": "YU7-MAX"},
                                headers={
                                    "Authorization": f"Bearer {customer_token(f'c-{i}')}",
                                    "Idempotency-Key": "k",
                                },
                            )
                            for i in range(200)
                        )
                    )
                )
        finally:
            await app.shutdown()

    responses = asyncio.run(main())
    outcomes = Counter(r.status_code for r in responses)
    assert set(outcomes) <= {201, 503}
    assert outcomes[503] > 0
    for refused in (r for r in responses if r.status_code == 503):
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "overloaded"
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM orders").fetchone()
    assert stored == outcomes[201]
