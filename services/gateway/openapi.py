"""OpenAPI 3 from the route table and the same marshmallow schemas that validate."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import class_registry
from marshmallow.exceptions import RegistryError

from services.gateway import conditional, idempotency
from services.gateway.cursors import MAX_LENGTH as CURSOR_LENGTH
from services.gateway.problems import BASE, CATALOGUE, MEDIA_TYPE, Problem
from services.gateway.routing import Router

# The version of the HTTP contract (docs/openapi.json): raise it with any change that
# breaks a client (yilinctl.api_contract refuses a breaking change without it).
API_VERSION = "1.1.0"

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
    412: "Precondition failed: the If-Match tag is stale",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required: send If-Match",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
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


ETAG_HEADER = {
    "ETag": {
        "description": "The resource's strong entity tag; send it back in If-Match to update it.",
        "required": True,
        "schema": {"type": "string"},
    }
}
REPLAYED_HEADER = {
    idempotency.REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
IF_MATCH = {
    "in": "header",
    "name": conditional.HEADER,
    "required": True,
    "description": "The ETag of the resource as last read (or `*`). Missing: 428; stale: 412; malformed: 400.",
    "schema": {"type": "string", "pattern": conditional.PATTERN},
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": idempotency.HEADER,
    "required": False,
    "description": "Makes a retried POST apply once: the same key and request replay the first answer; "
    "another request under the key answers 422; a key whose first request is in flight answers 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
}
OPAQUE_CURSOR = {
    "type": "string",
    "maxLength": CURSOR_LENGTH,
    "description": "Opaque: next_cursor of the previous page of the same list, as returned. "
    "Any other value answers 400 (invalid-cursor).",
}


def problem_types() -> dict[str, Any]:
    """The catalogue of problem types, as the components' ``x-problem-types`` extension."""
    return {t.uri: {"status": t.status, "title": t.title, "description": t.description} for t in CATALOGUE.values()}


def _schema_name(resolver_schema: Any) -> str:
    cls = resolver_schema if isinstance(resolver_schema, type) else type(resolver_schema)
    name = cls.__name__
    short = name[:-6] if name.endswith("Schema") and len(name) > 6 else name
    return cls.__module__.split(".")[1].title() + short if _defined_twice(name) else short


def _defined_twice(name: str) -> bool:
    """Whether two services define a schema of this name (apispec would number the second)."""
    try:
        return isinstance(class_registry.get_class(name, all=True), list)
    except RegistryError:  # made at run time (a page of items), so never registered
        return False


def build_openapi(router: Router) -> dict[str, Any]:
    """The OpenAPI document of every registered route."""
    spec = APISpec(
        title="Yilin API",
        version=API_VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={
            "description": "The public HTTP API of Yilin, a district's volunteer service platform. "
            f"Every error is RFC 9457 problem details ({MEDIA_TYPE}) with a `type` under {BASE} "
            "(catalogued in docs/problems.md and `components.x-problem-types`); field errors are the `errors` member. "
            "Resource reads carry a strong ETag; PATCH and PUT need If-Match.",
            "license": {"name": "Apache-2.0"},
        },
    )
    spec.components.schema("Problem", schema=Problem)
    for status in sorted({s for route in router.routes for s in route.error_statuses}):
        spec.components.response(
            f"Problem{status}",
            {
                "description": STATUS_TEXT[status],
                "content": {MEDIA_TYPE: {"schema": "Problem"}},
                **({"headers": ERROR_HEADERS[status]} if status in ERROR_HEADERS else {}),
            },
        )
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
        if route.conditional:
            params.append(IF_MATCH)
        if route.method == "POST":
            params.append(IDEMPOTENCY_KEY)
        if params:
            operation["parameters"] = params
        if route.body is not None:
            operation["requestBody"] = {"required": True, "content": {route.content_type: {"schema": route.body}}}
        success: dict[str, Any] = {"description": STATUS_TEXT.get(route.status, "OK")}
        if route.response is not None and route.status != 204:
            success["content"] = {"application/json": {"schema": route.response}}
        for media_type in route.media_types:
            success.setdefault("content", {})[media_type] = {"schema": media_schema(media_type)}
        if route.etagged:
            success["headers"] = ETAG_HEADER
        if route.method == "POST":
            success["headers"] = REPLAYED_HEADER
        operation["responses"][str(route.status)] = success
        for status in route.error_statuses:
            operation["responses"][str(status)] = f"Problem{status}"
        operation["responses"]["414"] = URI_TOO_LONG
        if not route.public:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    for operations in document["paths"].values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param.get("in") == "query" and param.get("name") == "cursor":
                    param["schema"] = OPAQUE_CURSOR  # the gateway seals the service's cursor
    document["components"]["x-problem-types"] = problem_types()
    return document
