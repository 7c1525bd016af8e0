"""Acknowledged means durable: SIGKILL the server mid-burst and count what survived."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from launchday.cli import free_port
from tests.support import (
    ADMIN_KEY,
    customer_token,
    launch_body,
    start_server_process,
    wait_until_healthy,
)

BURST = 4000
KILL_AFTER_ACKS = 1500
CLIENTS = 64


@pytest.mark.slow
def test_every_acknowledged_order_survives_sigkill_mid_burst(tmp_path: Path) -> None:
    db = tmp_path / "launchday.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server_process(db, port)
    try:
        wait_until_healthy(base, server)
        created = httpx.post(
            f"{base}/api/v1/launches",
            json=launch_body(),
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert created.status_code == 201, created.text
        tokens = [customer_token(f"c-{i}") for i in range(BURST)]
        acked, attempted = asyncio.run(_burst_then_kill(base, server.pid, tokens))
    finally:
        server.kill()
        server.wait()

    assert server.returncode == -signal.SIGKILL
    assert len(acked) >= KILL_AFTER_ACKS
    assert attempted > len(acked), "the kill must land while orders are still in flight"

    # Restart on the same file: everything acknowledged is there, with the same id, once.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server_process(db, port)
    try:
        wait_until_healthy(base, server)
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=base, headers=admin) as client:
            for customer, order_id in list(acked.items())[::50]:
                got = client.get(f"/api/v1/orders/{order_id}")
                assert got.status_code == 200
                assert got.json()["customer"] == customer
            # A client retrying an acknowledged order after the crash gets the same order.
            customer, order_id = next(iter(acked.items()))
            retry = client.post(
                "/api/v1/launches/yu7-2025/orders",
                json={"sku": "YU7-MAX"},
                headers={
                    "Authorization": f"Bearer {customer_token(customer)}",
                    "Idempotency-Key": f"key-{customer}",
                },
            )
            assert retry.status_code == 201
            assert retry.json()["id"] == order_id
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)

    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT customer, id FROM orders"))
        rows = conn.execute("SELECT count(*), count(DISTINCT id) FROM orders").fetchone()
        placed = conn.execute("SELECT placed FROM variants WHERE sku = 'YU7-MAX'").fetchone()[0]
    assert rows[0] == rows[1] == len(stored), "no order exists twice"
    missing = {c: i for c, i in acked.items() if stored.get(c) != i}
    assert missing == {}, f"{len(missing)} acknowledged orders lost or changed"
    assert placed == len(stored), "the stock counter matches the stored orders"


async def _burst_then_kill(base: str, pid: int, tokens: list[str]) -> tuple[dict[str, str], int]:
    """Send BURST orders from CLIENTS connections; SIGKILL the server after KILL_AFTER_ACKS."""
    acked: dict[str, str] = {}
    attempted = 0
    next_index = iter(range(len(tokens)))
    killed = asyncio.Event()

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal attempted
        for i in next_index:
            attempted += 1
            try:
                response = await client.post(
                    "/api/v1/launches/yu7-2025/orders",
                    json={"sku": "YU7-MAX"},
                    headers={
                        "Authorization": f"Bearer {tokens[i]}",
                        "Idempotency-Key": f"key-c-{i}",
                    },
                )
            except httpx.TransportError:
                return  # the server is gone: this request was never acknowledged
            if response.status_code == 201:
                acked[f"c-{i}"] = response.json()["id"]
                if len(acked) >= KILL_AFTER_ACKS and not killed.is_set():
                    killed.set()
                    os.kill(pid, signal.SIGKILL)

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
    return acked, attempted
