"""Every route of the OpenAPI document, called by every kind of caller: anonymous, a
customer, and a key of each role (and of each role bound to another launch, and a
store's key of another store). Each
answer is what the route's declaration (its `x-roles`) says: let in (anything but 401
and 403), 403 for a role it does not list, 401 without credentials. A new route is
walked as soon as it exists, so it cannot forget its role."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from launchday.http.routing import ROLES
from tests.support import ADMIN_KEY, Api, Database, launch_body, loopback_server

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
STAFF = [role for role in ROLES if role != "customer"]


def expected_status(roles: list[str] | None, who: str, template: str) -> int | str:
    """What the declaration says `who` gets: "let in", 401 or 403."""
    if roles is None:
        return "let in"
    if who == "anonymous":
        return 401
    role = who.removesuffix(" of another launch").removesuffix(" of another store")
    if role not in roles:
        return 403
    if who.endswith("of another launch") and "{slug}" in template:
        return 403  # a key bound to another launch acts on that one only
    if who.endswith("of another store") and "{store}" in template:
        return 403  # a store's key acts at its own store only
    return "let in"


def test_every_route_lets_in_exactly_the_roles_it_declares(sqlite_database: Database) -> None:
    with (
        loopback_server(sqlite_database.settings()) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        api = Api(client.request)
        opens = datetime.now(UTC) - timedelta(hours=1)
        for slug in ("yu7-2025", "su7-2024"):
            body = launch_body(slug=slug, opens_at=opens)
            assert api.post("/api/v1/launches", json=body, headers=ADMIN).status_code == 201
        order = api.place("c-1").json()
        credentials: dict[str, dict[str, str]] = {
            "anonymous": {},
            "customer": api.as_customer("c-1"),
        }
        for role in STAFF:
            for bound in (None, "su7-2024"):
                body: dict[str, Any] = {"name": f"{role}-{bound}", "role": role}
                if role == "store":
                    body["store"] = "sh-01"
                if bound is not None:
                    body["launch"] = bound
                made = api.post("/api/v1/keys", json=body, headers=ADMIN)
                assert made.status_code == 201, made.text
                who = role if bound is None else f"{role} of another launch"
                credentials[who] = {"Authorization": f"Bearer {made.json()['key']}"}
        body = {"name": "store-elsewhere", "role": "store", "store": "bj-01"}
        made = api.post("/api/v1/keys", json=body, headers=ADMIN)
        credentials["store of another store"] = {"Authorization": f"Bearer {made.json()['key']}"}
        values = {
            "slug": "yu7-2025",
            "id": order["id"],
            "ticket": "t-none",
            "provider": "rehearsal",
            "intent": "ri_none",
            "store": "sh-01",
            "mark": "done",
            "booking": "b-none",
        }
        document = api.get("/openapi.json").json()
        operations = [
            (method.upper(), path, operation)
            for path, methods in document["paths"].items()
            for method, operation in methods.items()
        ]
        assert len(operations) > 40
        walked = 0
        for method, template, operation in operations:
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
            roles = operation.get("x-roles")
            assert (roles is None) == ("security" not in operation), template
            for who, headers in credentials.items():
                # Streamed: the dashboard's live events never end; the status is enough.
                with client.stream(method, path, headers=headers, json={}) as answer:
                    status = answer.status_code
                    streaming = "event-stream" in answer.headers.get("content-type", "")
                    text = "" if streaming else answer.read().decode(errors="replace")
                where = (who, method, template, status, text[:200])
                walked += 1
                expected = expected_status(roles, who, template)
                if expected == "let in":
                    assert status not in (401, 403), where
                else:
                    assert status == expected, where
                if status >= 400:
                    assert json.loads(text)["error"]["code"], where  # the error shape
        assert walked == len(operations) * len(credentials)
