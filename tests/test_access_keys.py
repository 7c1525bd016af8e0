"""The people who run a launch, each with a key of their own: made by the admin with a
role (shown once, kept hashed), bound to one launch or not, expiring, revoked at once;
each role doing only its part; and every change they make in the audit, over the API
and the command line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from launchday.domain.access import hash_of
from tests.support import (
    ADMIN_KEY,
    Api,
    Database,
    SettableClock,
    http_api,
    launch_body,
    loopback_server,
)
from tests.test_cli_supply import launchday

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ROOM = {"rate_per_second": 5, "token_ttl_seconds": 900}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_key(api: Api, name: str, role: str, **more: Any) -> str:
    made = api.post("/api/v1/keys", json={"name": name, "role": role, **more}, headers=ADMIN)
    assert made.status_code == 201, made.text
    details = made.json()["details"]
    assert (details["name"], details["role"]) == (name, role)
    return made.json()["key"]  # type: ignore[no-any-return]


def launch_with_a_room(api: Api, slug: str) -> None:
    body = launch_body(slug=slug, admission=ROOM, opens_at=datetime.now(UTC) - timedelta(hours=1))
    assert api.post("/api/v1/launches", json=body, headers=ADMIN).status_code == 201


@contextmanager
def served(database: Database) -> Iterator[tuple[Api, str]]:
    with (
        loopback_server(database.settings()) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield Api(client.request), base


def test_each_role_does_its_part_and_no_more(database: Database) -> None:
    with http_api(database.settings()) as api:
        api.create_launch()
        api.create_launch(slug="su7-2024")
        placed = api.place("c-1").json()
        keys = {
            role: make_key(api, f"{role}-1", role) for role in ("operator", "analyst", "support")
        }
        keys["bound"] = make_key(api, "support-other", "support", launch="su7-2024")
        order = f"/api/v1/orders/{placed['id']}"
        report = "/api/v1/launches/yu7-2025/report"
        expected = {
            # support reads any order, changes nothing
            ("support", "GET", order): 200,
            ("support", "POST", f"{order}/cancel"): 403,
            ("support", "GET", report): 403,
            # analyst reads reports, never an order
            ("analyst", "GET", report): 200,
            ("analyst", "GET", order): 403,
            ("analyst", "POST", "/api/v1/launches"): 403,
            # operator: the launch's figures; no launches, no keys
            ("operator", "GET", report): 200,
            ("operator", "POST", "/api/v1/launches"): 403,
            ("operator", "GET", "/api/v1/keys"): 403,
            ("operator", "GET", "/api/v1/audit"): 403,
            # a key bound to another launch sees nothing of this one
            ("bound", "GET", order): 404,
        }
        for (who, method, path), status in expected.items():
            answer = api.request(method, path, headers=bearer(keys[who]), json={})
            assert answer.status_code == status, (who, method, path, answer.text)
        listed = api.get("/api/v1/keys", headers=ADMIN).json()["keys"]
        assert {key["name"] for key in listed} == {
            "operator-1", "analyst-1", "support-1", "support-other",
        }  # fmt: skip
        assert all("key" not in key for key in listed)  # the text is never shown again
        deadline = time.monotonic() + 5  # last use is kept once a second, not every call
        while not any(k["name"] == "support-1" and "last_used_at" in k for k in listed):
            assert time.monotonic() < deadline, listed
            time.sleep(0.2)
            listed = api.get("/api/v1/keys", headers=ADMIN).json()["keys"]
        stored = database.query("SELECT secret_hash FROM api_keys WHERE name = ?", "support-1")
        assert stored == [(hash_of(keys["support"]),)]  # only its hash is kept
        assert keys["support"] not in str(database.query("SELECT * FROM api_keys"))


def test_an_operator_paces_the_waiting_room_and_the_audit_names_who_did(
    sqlite_database: Database,
) -> None:
    with http_api(sqlite_database.settings()) as api:
        launch_with_a_room(api, "yu7-2025")
        operator = make_key(api, "ops-lin", "operator", launch="yu7-2025")
        admission = "/api/v1/launches/yu7-2025/admission"
        paused = api.post(admission, json={"paused": True}, headers=bearer(operator))
        assert paused.status_code == 200, paused.text
        assert api.get(admission, headers=bearer(operator)).json()["paused"] is True
        resumed = api.post(
            admission, json={"rate_per_second": 50, "paused": False}, headers=bearer(operator)
        )
        assert resumed.status_code == 200
        # Bound to yu7-2025: another launch's room is not theirs.
        launch_with_a_room(api, "su7-2024")
        other = api.post(
            "/api/v1/launches/su7-2024/admission", json={"paused": True}, headers=bearer(operator)
        )
        assert other.status_code == 403
        assert (
            api.get("/api/v1/launches/su7-2024/admission", headers=ADMIN).json()["paused"] is False
        )

        entries = api.get("/api/v1/audit", headers=ADMIN).json()["entries"]
        calls = [(e["key"], e["role"], e["method"], e["path"]) for e in entries]
        assert calls == [
            ("bootstrap-admin", "admin", "POST", "/api/v1/launches"),
            ("bootstrap-admin", "admin", "POST", "/api/v1/keys"),
            ("ops-lin", "operator", "POST", admission),
            ("ops-lin", "operator", "POST", admission),
            ("bootstrap-admin", "admin", "POST", "/api/v1/launches"),
        ]  # reads are not changes; the refused call changed nothing
        assert '"paused": true' in entries[2]["change"].replace('":true', '": true')
        assert entries[3]["launch"] == "yu7-2025"
        mine = api.get("/api/v1/audit?key=ops-lin", headers=ADMIN).json()["entries"]
        assert len(mine) == 2
        later = api.get(f"/api/v1/audit?since={entries[3]['at']}", headers=ADMIN).json()
        assert [e["path"] for e in later["entries"]] == ["/api/v1/launches"]
        assert api.get("/api/v1/audit?since=yesterday", headers=ADMIN).status_code == 422


def test_a_revoked_or_expired_key_is_refused_at_once(api: Api, clock: SettableClock) -> None:
    api.create_launch()
    analyst = make_key(api, "analyst-1", "analyst")
    short = make_key(
        api, "analyst-2", "analyst", expires_at=(clock.now + timedelta(hours=1)).isoformat()
    )
    report = "/api/v1/launches/yu7-2025/report"
    assert api.get(report, headers=bearer(analyst)).status_code == 200
    assert api.get(report, headers=bearer(short)).status_code == 200
    key_id = next(
        k["id"]
        for k in api.get("/api/v1/keys", headers=ADMIN).json()["keys"]
        if k["name"] == "analyst-1"
    )
    revoked = api.request("DELETE", f"/api/v1/keys/{key_id}", headers=ADMIN)
    assert revoked.status_code == 200
    assert "revoked_at" in revoked.json()
    refused = api.get(report, headers=bearer(analyst))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    clock.advance(hours=1)
    assert api.get(report, headers=bearer(short)).status_code == 401
    forged = analyst[:-4] + "AAAA"
    assert api.get(report, headers=bearer(forged)).status_code == 401
    assert api.get(report, headers=bearer("ldk_nonsense")).status_code == 401
    mistakes = [
        ({"name": "x", "role": "root"}, "role"),
        ({"name": "", "role": "admin"}, "name"),
        ({"name": "s", "role": "store"}, "store"),
        ({"name": "s", "role": "admin", "store": "sh-01"}, "store"),
        ({"name": "e", "role": "admin", "expires_at": clock.now.isoformat()}, "expires_at"),
        ({"name": "n", "role": "admin", "launch": "no-such-launch"}, "launch"),
        ({"name": "analyst-2", "role": "admin"}, "name"),  # taken
    ]
    for body, field in mistakes:
        answer = api.post("/api/v1/keys", json=body, headers=ADMIN)
        assert 400 <= answer.status_code < 500, (body, answer.text)
        if field is not None:
            assert answer.json()["error"]["field"] == field, (body, answer.text)
    assert len(api.get("/api/v1/keys", headers=ADMIN).json()["keys"]) == 2
    assert (
        api.post(
            "/api/v1/keys", json={"name": "x", "role": "admin"}, headers=bearer(short)
        ).status_code
        == 401
    )


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_key_revoked_on_one_process_is_refused_on_another_within_a_second(
    database: Database,
) -> None:
    with http_api(database.settings()) as first, http_api(database.settings()) as second:
        first.create_launch()
        key = make_key(first, "analyst-1", "analyst")
        report = "/api/v1/launches/yu7-2025/report"
        assert second.get(report, headers=bearer(key)).status_code == 200  # made elsewhere
        key_id = first.get("/api/v1/keys", headers=ADMIN).json()["keys"][0]["id"]
        assert first.request("DELETE", f"/api/v1/keys/{key_id}", headers=ADMIN).status_code == 200
        assert first.get(report, headers=bearer(key)).status_code == 401
        revoked_at = datetime.now(UTC)
        while second.get(report, headers=bearer(key)).status_code != 401:
            assert datetime.now(UTC) - revoked_at < timedelta(seconds=2), "still accepted"


def test_keys_and_the_audit_from_the_command_line(sqlite_database: Database) -> None:
    with served(sqlite_database) as (api, base):
        api.create_launch()
        made = launchday("keys", "create", "--name", "desk-1", "--role", "support", base=base)
        assert made.returncode == 0, made.stdout + made.stderr
        text = made.stdout.strip().splitlines()[-1]
        assert text.startswith("ldk_")
        placed = api.place("c-1").json()
        assert api.get(f"/api/v1/orders/{placed['id']}", headers=bearer(text)).status_code == 200
        listed = launchday("keys", "list", base=base)
        assert "desk-1" in listed.stdout
        assert "support" in listed.stdout
        assert text not in listed.stdout
        key_id = api.get("/api/v1/keys", headers=ADMIN).json()["keys"][0]["id"]
        revoked = launchday("keys", "revoke", key_id, base=base)
        assert revoked.returncode == 0, revoked.stdout + revoked.stderr
        assert "desk-1 revoked" in revoked.stdout
        audit = launchday("audit", base=base)
        assert audit.returncode == 0
        assert f"DELETE /api/v1/keys/{key_id}" in audit.stdout
        assert "bootstrap-admin" in audit.stdout
        bad = launchday("keys", "create", "--name", "x", "--role", "root", base=base)
        assert bad.returncode == 2
        assert "role" in bad.stdout
