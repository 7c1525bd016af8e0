"""The OpenAPI document, generated from the route table and the msgspec types it names."""

from __future__ import annotations

from typing import Any

import msgspec

from launchday.http.errors import STATUS_OF_CODE, ErrorBody
from launchday.http.routing import PARAM_PATTERNS, Route

# Before OpenAPI 3.2, the schema of an event stream describes each of its events.
SERVER_SENT_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {"type": "string", "contentMediaType": "application/json"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}

_REF = "#/components/schemas/{name}"


def openapi_document(
    routes: list[Route], *, title: str, version: str, bearer: str
) -> dict[str, Any]:
    """OpenAPI 3.1 for `routes`: the schemas are the very types that validate requests;
    `bearer` describes the credentials a bearer token may be."""
    types: list[Any] = [ErrorBody]
    for route in routes:
        types += [t for t in (route.body, route.response) if t is not None]
    unique = list(dict.fromkeys(types))
    schemas, components = msgspec.json.schema_components(unique, ref_template=_REF)
    schema_of = dict(zip(unique, schemas, strict=True))

    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "operationId": route.name,
            "summary": route.summary,
            "responses": {},
        }
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": f"^{PARAM_PATTERNS.get(name, '[^/]+')}$"},
            }
            for name in _path_params(route.path)
        ]
        parameters += [
            {
                "name": header.name,
                "in": "header",
                "required": header.required,
                "description": header.description,
                "schema": header.schema,
            }
            for header in route.headers
        ]
        parameters += [
            {
                "name": param.name,
                "in": "query",
                "required": param.required,
                "description": param.description,
                "schema": param.schema,
            }
            for param in route.query
        ]
        if parameters:
            operation["parameters"] = parameters
        if route.auth != "anyone":
            operation["security"] = [{"bearer": []}]
            operation["description"] = f"Callers: {', '.join(route.auth)}."
            operation["x-roles"] = list(route.auth)
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {route.body_content_type: {"schema": schema_of[route.body]}},
            }
        success: dict[str, Any] = {"description": "success"}
        if route.response is not None:
            success["content"] = {route.content_type: {"schema": schema_of[route.response]}}
        elif route.content_type == "text/event-stream":
            success["content"] = {route.content_type: {"schema": SERVER_SENT_EVENT}}
        elif route.content_type != "application/json":
            success["content"] = {route.content_type: {"schema": {"type": "string"}}}
        else:
            success["content"] = {"application/json": {"schema": {"type": "object"}}}
        operation["responses"][str(route.status)] = success
        if route.repeat_status is not None:
            repeated = {**success, "description": "success: made before, returned as it is"}
            operation["responses"][str(route.repeat_status)] = repeated
        for status, codes in _statuses(route.errors).items():
            operation["responses"][str(status)] = {
                "description": "error: " + ", ".join(codes),
                "content": {"application/json": {"schema": schema_of[ErrorBody]}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": bearer,
                }
            },
        },
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _statuses(codes: tuple[str, ...]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for code in codes:
        grouped.setdefault(STATUS_OF_CODE[code], []).append(code)
    return grouped
