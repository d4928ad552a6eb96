"""OpenAPI 3 from the route table and the same marshmallow schemas that validate."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from services.gateway.routing import Router
from yilin import __version__


class ErrorBody(Schema):
    error = fields.String(required=True, metadata={"description": "Stable error code, e.g. invalid_input."})
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", metadata={"description": "Offending field → messages."})


STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No content",
    400: "Malformed request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Body too large",
    422: "Invalid input",
    429: "Too many requests",
}


# The HTTP server refuses a request line over 8 KiB (eventlet's limit) before the API
# sees it: any operation can answer 414, with an empty body.
URI_TOO_LONG = {"description": "Request URI too long: the request line exceeds 8 KiB."}


def media_schema(media_type: str) -> dict[str, Any]:
    """A non-JSON body: text (CSV) or binary (PDF)."""
    return {"type": "string"} if media_type.startswith("text/") else {"type": "string", "format": "binary"}


# Headers that come with an error status (RFC 6750 §3, RFC 9110 §10.2.3).
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"description": "The authentication scheme: Bearer.", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}


def _schema_name(resolver_schema: Any) -> str:
    cls = resolver_schema if isinstance(resolver_schema, type) else type(resolver_schema)
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def build_openapi(router: Router) -> dict[str, Any]:
    """The OpenAPI document of every registered route."""
    spec = APISpec(
        title="Yilin API",
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "The public HTTP API of Yilin, a district's volunteer service platform."},
    )
    spec.components.schema("ErrorBody", schema=ErrorBody)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    paths: dict[str, dict[str, Any]] = {}
    for route in router.routes:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": route.handler.__name__,
            "responses": {},
        }
        params: list[dict[str, Any]] = [
            {"in": "path", "name": p, "required": True, "schema": {"type": "string", "format": "uuid"}}
            for p in route.path_params
        ]
        if route.query is not None:
            params.append({"in": "query", "schema": route.query})
        if params:
            operation["parameters"] = params
        if route.body is not None:
            operation["requestBody"] = {"required": True, "content": {route.content_type: {"schema": route.body}}}
        success: dict[str, Any] = {"description": STATUS_TEXT.get(route.status, "OK")}
        if route.response is not None and route.status != 204:
            success["content"] = {"application/json": {"schema": route.response}}
        for media_type in route.media_types:
            success.setdefault("content", {})[media_type] = {"schema": media_schema(media_type)}
        operation["responses"][str(route.status)] = success
        for status in route.errors:
            if status == 401 and route.public:
                continue
            operation["responses"][str(status)] = {
                "description": STATUS_TEXT[status],
                "content": {"application/json": {"schema": "ErrorBody"}},
                **({"headers": ERROR_HEADERS[status]} if status in ERROR_HEADERS else {}),
            }
        operation["responses"]["414"] = URI_TOO_LONG
        if not route.public:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
