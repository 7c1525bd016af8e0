"""GET /openapi.json documents every route, and what it documents is what the API checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from launchday.analytics import delivery_figures, store_figures, waiting_room_figures
from launchday.analytics import report as analytics_report
from launchday.api import access as access_api
from launchday.api import bookings_wire, payments_wire, production_wire, wire
from launchday.api import payments as payments_api
from launchday.api import store_orders as store_orders_api
from launchday.api import stores as stores_api
from launchday.app import App, create_app
from launchday.http import errors as http_errors
from launchday.http.errors import STATUS_OF_CODE
from launchday.http.routing import PARAM_PATTERNS, Route
from tests.support import Api, launch_body, settings_for

REF_PREFIX = "#/components/schemas/"
ERROR_REF = {"$ref": REF_PREFIX + "ErrorBody"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def app(tmp_path: Path) -> App:
    """An app made only to read its route table (nothing connects before startup)."""
    return create_app(settings_for(tmp_path / "routes.db"))


@pytest.fixture
def doc(api: Api) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON Pointer (RFC 6901) through the document, or fail the test."""
    assert ref.startswith("#/"), f"only local references are expected, got {ref!r}"
    node: Any = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref!r} passes through a non-object"
        assert token in node, f"{ref!r} does not resolve: no {token!r}"
        node = node[token]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def tag_field(kind: type[msgspec.Struct]) -> set[str]:
    """A tagged type's tag (`kind` of a what-if change): required, though no field."""
    config = kind.__struct_config__
    return {config.tag_field} if config.tag is not None and config.tag_field else set()


def required_fields(kind: type[msgspec.Struct]) -> set[str]:
    return {f.encode_name for f in msgspec.structs.fields(kind) if f.required} | tag_field(kind)


def wire_types() -> dict[str, type[msgspec.Struct]]:
    return {
        name: value
        for module in (
            wire,
            production_wire,
            payments_wire,
            payments_api,
            access_api,
            bookings_wire,
            stores_api,
            store_orders_api,
            http_errors,
            analytics_report,
            waiting_room_figures,
            delivery_figures,
            store_figures,
        )
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, msgspec.Struct)
    }


# --- the document as a whole ---------------------------------------------------------


def test_the_document_is_openapi_3_1_with_a_title_and_version(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] == "launchday"
    assert doc["info"]["version"]


def test_every_route_of_the_router_is_documented_with_its_method(
    doc: dict[str, Any], app: App
) -> None:
    routed = {(route.path, route.method.lower()) for route in app.router.routes}
    documented = {(path, method) for path, method, _ in operations(doc)}
    assert documented == routed
    for route in app.router.routes:
        operation = doc["paths"][route.path][route.method.lower()]
        assert operation["operationId"] == route.name
        assert operation["summary"] == route.summary
        assert str(route.status) in operation["responses"]


def test_operation_ids_are_unique(doc: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(doc)]
    assert len(ids) == len(set(ids))


def test_the_design_contract_routes_that_exist_are_documented(doc: dict[str, Any]) -> None:
    for path, method in [
        ("/api/v1/launches", "post"),
        ("/api/v1/launches/{slug}", "get"),
        ("/api/v1/launches/{slug}/interest", "post"),
        ("/api/v1/launches/{slug}/orders", "post"),
        ("/api/v1/orders/{id}", "get"),
        ("/api/v1/orders/{id}/lock", "post"),
        ("/api/v1/orders/{id}/cancel", "post"),
        ("/healthz", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ]:
        assert method in doc["paths"].get(path, {}), f"{method.upper()} {path} is undocumented"


def test_every_path_parameter_is_declared_and_required(doc: dict[str, Any]) -> None:
    for path, method, operation in operations(doc):
        in_path = set(re.findall(r"\{(\w+)\}", path))
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == in_path, f"{method.upper()} {path}"
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["required"] is True


PATH_SAMPLES = ["yu7-2025", "Yu7-2025", "-yu7", "a" * 64, "a" * 65, "o_12-AB", "x.y", "7"]


def admits(schema: dict[str, Any], value: str) -> bool:
    """Whether a string schema (type, length bounds, pattern) admits `value`."""
    if schema.get("type") != "string":
        return False
    if len(value) < schema.get("minLength", 0):
        return False
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return False
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, value) is not None


def test_path_parameters_document_the_pattern_the_router_enforces(doc: dict[str, Any]) -> None:
    # The router answers 404 to a slug or id outside PARAM_PATTERNS: a client generated
    # from the document should know that before it asks.
    for path, method, operation in operations(doc):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "path":
                continue
            routed = PARAM_PATTERNS[parameter["name"]]
            for value in PATH_SAMPLES:
                assert admits(parameter["schema"], value) == bool(re.fullmatch(routed, value)), (
                    f"{method.upper()} {path}: {parameter['name']}={value!r}"
                )


@pytest.mark.parametrize(
    "key",
    ["k-1", "a" * 255, "a" * 256, "has space", ""],
    ids=["plain", "longest", "too-long", "space", "empty"],
)
def test_the_idempotency_key_header_documents_the_form_the_api_enforces(
    api: Api, doc: dict[str, Any], key: str
) -> None:
    api.create_launch()
    operation = doc["paths"]["/api/v1/launches/{slug}/orders"]["post"]
    [header] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header"
    assert header["required"] is True
    placed = api.post(
        "/api/v1/launches/yu7-2025/orders",
        json={"sku": "YU7-MAX"},
        headers={**api.as_customer("c-1"), "Idempotency-Key": key},
    )
    accepted = placed.status_code == 201
    assert accepted or placed.json()["error"]["field"] == "Idempotency-Key", placed.text
    assert admits(header["schema"], key) == accepted, f"documented {header['schema']}"


def test_every_reference_resolves_inside_the_document(doc: dict[str, Any]) -> None:
    found = list(refs(doc))
    assert found, "the document references no schema at all"
    for ref in found:
        target = resolve(doc, ref)
        assert isinstance(target, dict)


def test_every_component_schema_is_used_by_the_document(doc: dict[str, Any]) -> None:
    referenced = {ref.removeprefix(REF_PREFIX) for ref in refs(doc)}
    assert set(doc["components"]["schemas"]) <= referenced


def test_protected_operations_name_a_declared_security_scheme(doc: dict[str, Any]) -> None:
    schemes = set(doc["components"]["securitySchemes"])
    for _, _, operation in operations(doc):
        for requirement in operation.get("security", []):
            assert set(requirement) <= schemes


def test_the_document_is_the_same_over_real_http(http: Api, api: Api) -> None:
    over_http = http.get("/openapi.json")
    assert over_http.status_code == 200
    assert over_http.headers["content-type"].startswith("application/json")
    document = over_http.json()
    assert document["openapi"].startswith("3.1.")
    assert document == api.get("/openapi.json").json()


def test_the_document_validates_against_the_openapi_3_1_meta_schema(
    doc: dict[str, Any],
) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)


# --- request bodies and their schemas ------------------------------------------------


def test_every_request_body_references_a_component_of_its_type(
    doc: dict[str, Any], app: App
) -> None:
    bodies = [route for route in app.router.routes if route.body is not None]
    assert bodies, "no route takes a body"
    for route in bodies:
        body = doc["paths"][route.path][route.method.lower()]["requestBody"]
        assert body["required"] is True
        schema = body["content"][route.body_content_type]["schema"]
        assert schema == {"$ref": REF_PREFIX + route.body.__name__}
        component = resolve(doc, schema["$ref"])
        assert set(component.get("required", [])) == required_fields(route.body)


def test_the_launch_body_requires_the_fields_the_design_names(doc: dict[str, Any]) -> None:
    launch_spec = doc["components"]["schemas"]["LaunchSpec"]
    assert set(launch_spec["required"]) == {
        "slug",
        "name",
        "currency",
        "opens_at",
        "deposit",
        "variants",
    }
    assert launch_spec["additionalProperties"] is False
    assert set(doc["components"]["schemas"]["VariantSpec"]["required"]) == {"sku", "name", "price"}
    assert set(doc["components"]["schemas"]["OrderRequest"]["required"]) == {"sku"}


def test_every_component_requires_exactly_what_its_msgspec_type_requires(
    doc: dict[str, Any],
) -> None:
    types = wire_types()
    for name, component in doc["components"]["schemas"].items():
        assert name in types, f"component {name} is no wire type of launchday"
        kind = types[name]
        assert set(component.get("required", [])) == required_fields(kind), name
        assert set(component["properties"]) == {
            f.encode_name for f in msgspec.structs.fields(kind)
        } | tag_field(kind), name


def test_every_response_body_references_a_component_of_its_type(
    doc: dict[str, Any], app: App
) -> None:
    for route in app.router.routes:
        success = doc["paths"][route.path][route.method.lower()]["responses"][str(route.status)]
        content = success["content"]
        if route.response is not None:
            assert content[route.content_type]["schema"] == {
                "$ref": REF_PREFIX + route.response.__name__
            }
        else:
            assert route.content_type in content


# --- error responses -----------------------------------------------------------------


def test_every_error_response_references_the_error_body(doc: dict[str, Any]) -> None:
    seen = 0
    for path, method, operation in operations(doc):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                seen += 1
                assert response["content"] == {"application/json": {"schema": ERROR_REF}}, (
                    f"{method.upper()} {path} {status}"
                )
    assert seen
    error_body = doc["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["error"]
    detail = resolve(doc, error_body["properties"]["error"]["$ref"])
    assert set(detail["properties"]) == {"code", "message", "field"}


def test_each_route_documents_the_status_of_every_error_code_it_names(
    doc: dict[str, Any], app: App
) -> None:
    for route in app.router.routes:
        responses = doc["paths"][route.path][route.method.lower()]["responses"]
        for code in route.errors:
            status = str(STATUS_OF_CODE[code])
            assert status in responses, f"{route.name}: {code} ({status})"
            assert code in responses[status]["description"]


def routes_that_write(app: App) -> list[Route]:
    return [
        route
        for route in app.router.routes
        if route.name
        in {"create_launch", "register_interest", "place_order", "lock_order", "cancel_order"}
    ]


def test_every_route_that_writes_documents_the_overload_refusal(
    doc: dict[str, Any], app: App
) -> None:
    # Each of these waits on the store's writer, whose queue refuses when full (503).
    overloaded = str(STATUS_OF_CODE["overloaded"])
    for route in routes_that_write(app):
        responses = doc["paths"][route.path][route.method.lower()]["responses"]
        assert overloaded in responses, f"{route.name} does not document {overloaded}"


def test_an_error_the_api_sends_has_the_documented_shape(api: Api) -> None:
    refused = api.post("/api/v1/launches", json=launch_body(slug="Not A Slug"))
    assert refused.status_code == 401
    body = refused.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == "unauthenticated"


# --- what is documented is what is checked -------------------------------------------


def schema_of(doc: dict[str, Any], component: str, field: str) -> dict[str, Any]:
    prop: dict[str, Any] = doc["components"]["schemas"][component]["properties"][field]
    return prop


def with_variant(**fields: Any) -> dict[str, Any]:
    body = launch_body(slug="docs-check")
    body["variants"][0].update(fields)
    return body


def create(api: Api, body: dict[str, Any]) -> Any:
    return api.post("/api/v1/launches", json=body, headers=api.admin())


def assert_refused_on(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation"
    assert error["field"] == field


@pytest.mark.parametrize("slug", ["Yu7-2025", "-yu7", "yu7_2025", "yu7 2025", "a" * 65, ""])
def test_a_slug_outside_the_documented_pattern_is_refused(
    api: Api, doc: dict[str, Any], slug: str
) -> None:
    pattern = schema_of(doc, "LaunchSpec", "slug")["pattern"]
    assert re.search(pattern, slug) is None
    assert_refused_on(create(api, launch_body(slug=slug)), "slug")


def test_a_slug_inside_the_documented_pattern_is_accepted(api: Api, doc: dict[str, Any]) -> None:
    slug = "a" * 64
    assert re.search(schema_of(doc, "LaunchSpec", "slug")["pattern"], slug)
    assert create(api, launch_body(slug=slug)).status_code == 201


def test_a_price_below_the_documented_minimum_is_refused(api: Api, doc: dict[str, Any]) -> None:
    minimum = schema_of(doc, "VariantSpec", "price")["minimum"]
    assert minimum == 0
    assert_refused_on(create(api, with_variant(price=minimum - 1)), "variants[0].price")
    assert create(api, with_variant(price=minimum)).status_code == 201


def test_a_price_above_the_documented_maximum_is_refused(api: Api, doc: dict[str, Any]) -> None:
    maximum = schema_of(doc, "VariantSpec", "price")["maximum"]
    assert_refused_on(create(api, with_variant(price=maximum + 1)), "variants[0].price")
    assert create(api, with_variant(price=maximum)).status_code == 201


def test_a_currency_outside_the_documented_pattern_is_refused(
    api: Api, doc: dict[str, Any]
) -> None:
    pattern = schema_of(doc, "LaunchSpec", "currency")["pattern"]
    for currency in ["cny", "CN", "CNYY"]:
        assert re.search(pattern, currency) is None
        assert_refused_on(
            create(api, launch_body(slug="docs-check", currency=currency)), "currency"
        )


def test_a_customer_limit_outside_the_documented_bounds_is_refused(
    api: Api, doc: dict[str, Any]
) -> None:
    bounds = schema_of(doc, "LaunchSpec", "per_customer_limit")
    for value in (bounds["minimum"] - 1, bounds["maximum"] + 1):
        body = launch_body(slug="docs-check", per_customer_limit=value)
        assert_refused_on(create(api, body), "per_customer_limit")
    body = launch_body(slug="docs-check", per_customer_limit=bounds["maximum"])
    assert create(api, body).status_code == 201


def test_a_refund_window_past_the_documented_maximum_is_refused(
    api: Api, doc: dict[str, Any]
) -> None:
    maximum = schema_of(doc, "DepositSpec", "refundable_hours")["maximum"]
    body = launch_body(slug="docs-check", deposit={"amount": 5000, "refundable_hours": maximum + 1})
    assert_refused_on(create(api, body), "deposit.refundable_hours")


def test_a_launch_with_fewer_variants_than_documented_is_refused(
    api: Api, doc: dict[str, Any]
) -> None:
    assert schema_of(doc, "LaunchSpec", "variants")["minItems"] == 1
    assert_refused_on(create(api, launch_body(slug="docs-check", variants=[])), "variants")


@pytest.mark.parametrize("missing", ["slug", "name", "currency", "opens_at", "deposit", "variants"])
def test_a_launch_missing_a_documented_required_field_is_refused(
    api: Api, doc: dict[str, Any], missing: str
) -> None:
    assert missing in doc["components"]["schemas"]["LaunchSpec"]["required"]
    body = launch_body(slug="docs-check")
    del body[missing]
    response = create(api, body)
    assert response.status_code == 422, response.text
    assert missing in response.json()["error"]["message"]


def test_a_field_the_document_does_not_list_is_refused(api: Api, doc: dict[str, Any]) -> None:
    assert "colour" not in doc["components"]["schemas"]["LaunchSpec"]["properties"]
    assert_refused_on(create(api, launch_body(slug="docs-check", colour="blue")), "colour")


def test_an_order_sku_outside_the_documented_pattern_is_refused(
    api: Api, doc: dict[str, Any]
) -> None:
    api.create_launch()
    pattern = schema_of(doc, "OrderRequest", "sku")["pattern"]
    assert re.search(pattern, "YU7 MAX") is None
    assert_refused_on(api.place("c-1", "YU7 MAX", key="k-1"), "sku")


def test_a_phone_outside_the_documented_enum_is_refused(api: Api, doc: dict[str, Any]) -> None:
    api.create_launch()
    phone = schema_of(doc, "ProfileSpec", "phone")
    allowed = {value for option in phone["anyOf"] for value in option.get("enum", [])}
    assert allowed == {"ios", "android", "other"}
    refused = api.place("c-1", profile={"phone": "blackberry"})
    assert_refused_on(refused, "profile.phone")
    assert api.place("c-2", profile={"phone": "ios"}).status_code == 201
