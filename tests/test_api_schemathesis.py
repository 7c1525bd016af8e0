"""Every operation of `/openapi.json`, fuzzed by schemathesis against the real server over
loopback on both databases, as the admin and as a customer: requests the document calls
valid are answered as it says (status, content type, body schema, never a 5xx), and
requests it calls invalid are refused with a 4xx. Half the valid requests name a launch,
order and ticket that exist, so the handlers behind the 404s are reached too."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from tests.support import (
    ADMIN_KEY,
    Database,
    customer_token,
    launch_body,
    loopback_server,
)

EXAMPLES = 30
STORE = {
    "name": "Fuzz store",
    "kinds": ["sales"],
    "city": "Beijing",
    "region": "CN-BJ",
    "lat": 39.9,
    "lon": 116.4,
    "timezone": "Asia/Shanghai",
    "hours": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
               "opens": "09:00", "closes": "21:00"}],
    "demo_cars": {"YU7-MAX": 2},
}  # fmt: skip
CUSTOMER = "fuzz-customer"
# The live feed never ends by itself; the dashboard's tests read it event by event.
NOT_FUZZED = {"GET /launches/{slug}/live"}
# A launch body can break rules across fields (a SKU twice, interest opening after orders,
# earliest lead time after the latest, an opening outside 1970-8999 UTC) that JSON Schema
# cannot state, so a schema-valid body may rightly be refused with 422. So may a production
# plan (its SKUs must be the launch's, its time zone known, its periods in order) and a
# what-if (the lines, components and suppliers it names must be the plan's).
# An API key's body too: a store key must name its store and only a store key may, the
# launch it is bound to must exist, and its expiry must be ahead.
# A store's body too (its time zone must be known, its hours must not overlap, a delivery
# centre needs a bay), a test drive's slot must be one the store offers, and a point to
# list stores near must be on the globe. A delivery centre must be a store that hands cars
# over, a handover waits for the car to be built, and a store order for a store that sells.
VALID_MAY_BE_REFUSED = {
    "PUT /api/v1/orders/{id}/delivery-centre",
    "GET /api/v1/orders/{id}/handover-slots",
    "POST /api/v1/orders/{id}/handover",
    "POST /api/v1/stores/{store}/launches/{slug}/orders",
    "GET /api/v1/stores",
    "POST /api/v1/keys",
    "PUT /api/v1/stores/{store}",
    "POST /api/v1/launches/{slug}/test-drives",
    "POST /api/v1/test-drives/{id}/reschedule",
    "GET /api/v1/launches/{slug}/stores/{store}/test-drive-slots",
    "POST /api/v1/launches",
    "PUT /api/v1/launches/{slug}/production",
    "POST /api/v1/launches/{slug}/supply/what-if",
}
# An import of registrations takes what it can and reports each line it cannot in its 200
# (`rejected`, with the line, code and field), so that one bad line in a million does
# not refuse the file: a schema-violating line is answered, not refused.
INVALID_MAY_BE_ANSWERED = {"POST /api/v1/launches/{slug}/interest/import"}


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_context: Any, value: Any) -> bytes:
    return json.dumps(value).encode() + b"\n"


@dataclass(frozen=True)
class Served:
    base: str
    document: dict[str, Any]
    existing: dict[str, str]  # a path parameter's name -> a value that exists


@pytest.fixture
def served(database: Database) -> Iterator[Served]:
    with loopback_server(database.settings()) as base, httpx.Client(base_url=base) as client:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        customer = {"Authorization": f"Bearer {customer_token(CUSTOMER)}"}
        opened = datetime.now(UTC) - timedelta(hours=1)
        for slug, admission in (("open", None), ("room", {"rate_per_second": 1000})):
            body = launch_body(slug, opened, admission=admission)
            assert client.post("/api/v1/launches", json=body, headers=admin).status_code == 201
        order = client.post(
            "/api/v1/launches/open/orders",
            json={"sku": "YU7-MAX"},
            headers={**customer, "Idempotency-Key": "fuzz"},
        )
        assert order.status_code == 201, order.text
        store = client.put("/api/v1/stores/fuzz-store", json=STORE, headers=admin)
        assert store.status_code == 200, store.text
        ticket = client.post("/api/v1/launches/room/queue", headers=customer)
        assert ticket.status_code in (200, 201), ticket.text
        yield Served(
            base,
            client.get("/openapi.json").json(),
            {
                "slug": "open",
                "id": order.json()["id"],
                "ticket": ticket.json()["ticket"],
                "store": "fuzz-store",
            },
        )


def _answering(
    operation: Any,
    mode: GenerationMode,
    served: Served,
    headers: dict[str, str],
    statuses: Counter[int],
    excluded: list[Any],
) -> Any:
    """A Hypothesis test calling one operation with generated requests; a request to an
    existing order, ticket or launch half the time, so handlers get past their lookups."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), existing=st.booleans())
    def answer(case: Any, existing: bool) -> None:
        if existing and mode is GenerationMode.POSITIVE and case.path_parameters:
            case.path_parameters = {
                name: served.existing.get(name, value)
                for name, value in case.path_parameters.items()
            }
        response = case.call(base_url=served.base, headers=headers, timeout=30)
        statuses[response.status_code // 100] += 1
        case.validate_response(response, excluded_checks=excluded)

    return answer


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", ["admin", "customer"])
def test_every_operation_answers_as_its_document_says(
    served: Served, role: str, mode: GenerationMode
) -> None:
    credential = ADMIN_KEY if role == "admin" else customer_token(CUSTOMER)
    headers = {"Authorization": f"Bearer {credential}"}
    schema = schemathesis.openapi.from_dict(served.document)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    fuzzed = 0
    for result in schema.get_all_operations():
        operation: Any = result.ok()  # type: ignore[union-attr]
        if operation.label in NOT_FUZZED:
            continue
        method, path = operation.label.split(" ", 1)
        documented = served.document["paths"][path][method.lower()]
        if mode is GenerationMode.NEGATIVE and not (
            documented.get("parameters") or documented.get("requestBody")
        ):
            continue  # nothing in the request the document constrains, so nothing to break
        excluded = [positive_data_acceptance] if operation.label in VALID_MAY_BE_REFUSED else []
        if operation.label in INVALID_MAY_BE_ANSWERED:
            excluded.append(negative_data_rejection)
        answer = _answering(operation, mode, served, headers, statuses, excluded)
        try:
            answer()
        except BaseException as failure:
            if isinstance(failure, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label} ({role}, {mode.value}):\n{failure}")
        fuzzed += 1

    assert failures == [], "\n\n".join(failures)
    assert fuzzed >= (20 if mode is GenerationMode.POSITIVE else 12), "the operations were fuzzed"
    assert statuses[5] == 0
    assert statuses[4] > 0, "invalid and unauthorised requests were made"
    if mode is GenerationMode.POSITIVE:
        assert statuses[2] > 0, "valid requests reached the handlers"
