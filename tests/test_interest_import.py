"""Bulk import of registrations from a brand's campaign pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.support import Api, Database


def _micros(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000


PATH = "/api/v1/launches/yu7-2025/interest/import"


def _ndjson(*records: object) -> bytes:
    return (
        b"\n".join(r if isinstance(r, bytes) else json.dumps(r).encode() for r in records) + b"\n"
    )


def test_an_import_stores_registrations_with_their_own_times_and_profiles(
    client: Api, database: Database
) -> None:
    client.create_launch()
    body = _ndjson(
        {
            "customer": "c-1",
            "registered_at": "2026-11-19T12:00:00Z",
            "profile": {"first_car_with_brand": True, "phone": "ios", "region": "CN-BJ"},
        },
        {"customer": "c-2", "registered_at": "2026-11-20T08:30:00+08:00"},
    )
    response = client.post(PATH, content=body, headers=client.admin())
    assert response.status_code == 200, response.text
    assert response.json() == {
        "lines": 2,
        "imported": 2,
        "new": 2,
        "updated": 0,
        "rejected_count": 0,
        "rejected": [],
    }
    rows = database.query(
        "SELECT customer, registered_at_us, first_car_with_brand, phone, region"
        " FROM interest ORDER BY customer"
    )
    assert rows == [
        ("c-1", _micros(datetime(2026, 11, 19, 12, tzinfo=UTC)), 1, "ios", "CN-BJ"),
        ("c-2", _micros(datetime(2026, 11, 20, 0, 30, tzinfo=UTC)), None, None, None),
    ]
    assert client.get("/api/v1/launches/yu7-2025").json()["counts"]["interest"] == 2


def test_bad_lines_are_reported_by_number_and_the_good_ones_imported(client: Api) -> None:
    client.create_launch()
    body = _ndjson(
        {"customer": "c-1", "registered_at": "2026-11-19T12:00:00Z"},
        b"{not json",
        {"customer": "c-2", "registered_at": "2026-11-19"},
        {"customer": "c-3", "registered_at": "2026-11-19T12:00:00Z", "profile": {"phone": "nokia"}},
        {"customer": "", "registered_at": "2026-11-19T12:00:00Z"},
        {"customer": "c-4", "registered_at": "2026-11-19T12:00:00Z", "extra": 1},
        {"customer": "c-5", "registered_at": "2026-11-19T12:00:00Z"},
    )
    report = client.post(PATH, content=body, headers=client.admin()).json()
    assert (report["lines"], report["imported"], report["rejected_count"]) == (7, 2, 5)
    rejected = {r["line"]: (r["code"], r["field"]) for r in report["rejected"]}
    assert rejected == {
        2: ("invalid_body", None),
        3: ("validation", "registered_at"),
        4: ("validation", "profile.phone"),
        5: ("validation", "customer"),
        6: ("validation", "extra"),
    }


def test_reimporting_keeps_the_earliest_time_and_counts_updates(client: Api) -> None:
    client.create_launch()
    first = _ndjson({"customer": "c-1", "registered_at": "2026-11-20T00:00:00Z"})
    client.post(PATH, content=first, headers=client.admin())
    again = _ndjson(
        {
            "customer": "c-1",
            "registered_at": "2026-11-19T00:00:00Z",
            "profile": {"phone": "android"},
        },
        {"customer": "c-2", "registered_at": "2026-11-21T00:00:00Z"},
    )
    report = client.post(PATH, content=again, headers=client.admin()).json()
    assert (report["new"], report["updated"]) == (1, 1)
    registered = client.post(
        "/api/v1/launches/yu7-2025/interest", json={}, headers=client.as_customer("c-1")
    ).json()
    assert registered["registered_at"] == "2026-11-19T00:00:00Z"


def test_only_the_admin_imports(client: Api) -> None:
    client.create_launch()
    body = _ndjson({"customer": "c-1", "registered_at": "2026-11-19T12:00:00Z"})
    assert client.post(PATH, content=body).status_code == 401
    as_customer = client.post(PATH, content=body, headers=client.as_customer("c-1"))
    assert as_customer.status_code == 403
    assert client.get("/api/v1/launches/yu7-2025").json()["counts"]["interest"] == 0


def test_an_import_into_an_unknown_launch_is_not_found(client: Api) -> None:
    body = _ndjson({"customer": "c-1", "registered_at": "2026-11-19T12:00:00Z"})
    response = client.post(
        "/api/v1/launches/nope/interest/import", content=body, headers=client.admin()
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_imports_take_bodies_far_larger_than_orders(client: Api) -> None:
    client.create_launch()
    records = [
        {
            "customer": f"c-{i}",
            "registered_at": "2026-11-19T12:00:00Z",
            "profile": {"first_car_with_brand": i % 2 == 0, "phone": "ios"},
        }
        for i in range(5000)
    ]
    body = _ndjson(*records)
    assert len(body) > 64 * 1024
    report = client.post(PATH, content=body, headers=client.admin()).json()
    assert report["new"] == 5000
