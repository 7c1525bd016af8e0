"""The secret of launchday's own tokens rotated without downtime: a new secret signs
customer and admission tokens from the rotation on (on every process within a second),
tokens signed with the old one still pass until its set time, then are refused."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from launchday.domain.token_secrets import Rotation, secrets_in_force
from tests.support import (
    ADMIN_KEY,
    Api,
    Database,
    customer_token,
    http_api,
    launch_body,
    server_env,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SLUG = "yu7-2025"
T = datetime(2026, 12, 6, tzinfo=UTC)


def test_which_secrets_sign_and_verify_through_rotations() -> None:
    first = Rotation(1, b"one", T, T + timedelta(hours=1))
    second = Rotation(2, b"two", T + timedelta(minutes=30), T + timedelta(minutes=40))
    before = secrets_in_force(b"zero", [], T)
    assert (before.signing, before.also_verifying, before.generation) == (b"zero", (), 0)
    during = secrets_in_force(b"zero", [second, first], T + timedelta(minutes=35))
    assert (during.signing, during.also_verifying) == (b"two", (b"one", b"zero"))
    assert during.next_retirement == T + timedelta(minutes=40)
    later = secrets_in_force(b"zero", [first, second], T + timedelta(minutes=50))
    assert (later.signing, later.also_verifying) == (b"two", (b"zero",))
    done = secrets_in_force(b"zero", [first, second], T + timedelta(hours=2))
    assert (done.signing, done.also_verifying, done.generation) == (b"two", (), 2)


def minted(database: Database, customer: str) -> str:
    """A customer token from `launchday token`, signed with the secret in force."""
    printed = subprocess.run(
        [sys.executable, "-m", "launchday", "token", "--customer", customer],
        env=server_env(database.url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stdout + printed.stderr
    return printed.stdout.strip()


def admitted(api: Api, token: str) -> str:
    """The admission token of a buyer let in by the waiting room."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 10
    while True:
        ticket: dict[str, Any] = api.post(f"/api/v1/launches/{SLUG}/queue", headers=headers).json()
        if ticket.get("admission_token"):
            return str(ticket["admission_token"])
        assert time.monotonic() < deadline, ticket
        time.sleep(0.1)


def order(api: Api, token: str, admission: str, key: str) -> int:
    headers = {
        "Authorization": f"Bearer {token}",
        "Admission-Token": admission,
        "Idempotency-Key": key,
    }
    placed = api.post(f"/api/v1/launches/{SLUG}/orders", json={"sku": "YU7-MAX"}, headers=headers)
    return placed.status_code


def test_a_rotated_secret_signs_at_once_and_the_old_one_retires_on_time(
    database: Database,
) -> None:
    body = launch_body(
        opens_at=datetime.now(UTC) - timedelta(minutes=5),
        per_customer_limit=5,
        admission={"rate_per_second": 1000, "token_ttl_seconds": 900},
    )
    # Two server processes share a PostgreSQL database (one writes a SQLite file).
    with http_api(database.settings()) as api, ExitStack() as more:
        servers = [api]
        if database.is_postgres:
            servers.append(more.enter_context(http_api(database.settings())))
        assert api.post("/api/v1/launches", json=body, headers=ADMIN).status_code == 201
        old_token = customer_token("c-old")
        old_admission = admitted(api, old_token)
        assert order(api, old_token, old_admission, "before") == 201

        rotated = api.post(
            "/api/v1/secrets/rotate", json={"previous_verifies_for_seconds": 3}, headers=ADMIN
        )
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["generation"] == 1
        assert "secret" not in rotated.text.replace("secrets/", "")
        new_token = minted(database, "c-new")
        assert new_token != customer_token("c-new")  # signed with the new secret
        new_admission = admitted(api, new_token)
        # During the grace both pass, on the process that rotated and on another.
        for server in servers:
            deadline = time.monotonic() + 2
            while order(server, new_token, new_admission, f"new-{id(server)}") != 201:
                assert time.monotonic() < deadline, "the new secret is not in force"
                time.sleep(0.1)
            assert order(server, old_token, old_admission, f"old-{id(server)}") == 201

        time.sleep(4)  # the grace ends; each process reads the rotation within a second
        for server in servers:
            refused = server.get(
                "/api/v1/launches/yu7-2025/queue/x",
                headers={"Authorization": f"Bearer {old_token}"},
            )
            assert refused.status_code == 401, refused.text
            fresh = minted(database, "c-late")
            late = order(server, fresh, old_admission, f"late-{id(server)}")
            assert late == 403  # an admission token of the old secret no longer admits
            assert order(server, new_token, new_admission, f"after-{id(server)}") == 201

        entries = api.get("/api/v1/audit", headers=ADMIN).json()["entries"]
        assert [e["path"] for e in entries][-1] == "/api/v1/secrets/rotate"


@pytest.mark.parametrize(
    "body", [{"previous_verifies_for_seconds": -1}, {"previous_verifies_for_seconds": 31 * 86400}]
)
def test_a_rotation_asked_wrongly_changes_nothing(
    sqlite_database: Database, body: dict[str, Any]
) -> None:
    with http_api(sqlite_database.settings()) as api:
        api.create_launch()
        answer = api.post("/api/v1/secrets/rotate", json=body, headers=ADMIN)
        assert answer.status_code == 422, answer.text
        assert sqlite_database.query("SELECT count(*) FROM token_secrets") == [(0,)]
        assert api.place("c-1").status_code == 201  # the instance's secret still signs
