"""Every error the API answers is an RFC 9457 problem details object,
``application/problem+json``:

    {"type": "https://yilin.example/problems/invalid-input", "title": "Invalid input",
     "status": 422, "detail": "invalid input in: name", "instance": "/api/v1/volunteers",
     "errors": [{"field": "name", "detail": "Missing data for required field."}]}

``type`` is one of :data:`CATALOGUE` (published in docs/problems.md and the OpenAPI
document); ``errors`` lists each offending input with its ``field``: a body property as
a dotted path into the body (``entries.0.minutes``), a query parameter or a header by
its name (``cursor``, ``If-Match``, ``Idempotency-Key``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields
from werkzeug.wrappers import Response

from yilin.errors import (
    BadRequest,
    Conflict,
    InvalidInput,
    TooManyRequests,
    Unauthenticated,
    YilinError,
)

MEDIA_TYPE = "application/problem+json"
BASE = "https://yilin.example/problems/"


@dataclass(frozen=True)
class ProblemType:
    code: str  # the error class's code, e.g. invalid_input
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        """The ``type`` member: a URI under :data:`BASE`."""
        return BASE + self.code.replace("_", "-")


_TYPES = [
    ProblemType("bad_request", 400, "Malformed request", "The request cannot be read: no body, invalid JSON, or nested too deep."),
    ProblemType("invalid_cursor", 400, "Invalid cursor", "The `cursor` was not issued by this API for this list, or was altered."),
    ProblemType("invalid_precondition", 400, "Malformed precondition", "The `If-Match` header is not a list of entity tags or `*`."),
    ProblemType("unauthenticated", 401, "Not authenticated", "No valid bearer token; see the `WWW-Authenticate` header."),
    ProblemType("forbidden", 403, "Forbidden", "The caller's role or scope does not allow this."),
    ProblemType("not_found", 404, "Not found", "No such resource, or a resource the request points at does not exist."),
    ProblemType("method_not_allowed", 405, "Method not allowed", "The path exists; the `Allow` header lists its methods."),
    ProblemType("conflict", 409, "Conflict", "The request conflicts with the resource's current state or an existing record."),
    ProblemType(
        "idempotency_key_in_use", 409, "Idempotency key in use",
        "A request with this `Idempotency-Key` is still being processed; retry after it completes.",
    ),
    ProblemType(
        "precondition_failed", 412, "Precondition failed",
        "The `If-Match` entity tag is stale: the resource changed since it was read. Read it again and retry.",
    ),
    ProblemType("payload_too_large", 413, "Body too large", "The body exceeds the API's size limit (1 MiB)."),
    ProblemType("unsupported_media_type", 415, "Unsupported media type", "The body must be `application/json`."),
    ProblemType("invalid_input", 422, "Invalid input", "The input breaks the operation's schema or rules; `errors` names each field."),
    ProblemType(
        "idempotency_key_reused", 422, "Idempotency key reused",
        "This `Idempotency-Key` was already used for a different request (method, path, query or body).",
    ),
    ProblemType(
        "precondition_required", 428, "Precondition required",
        "This update needs an `If-Match` header carrying the resource's current `ETag`.",
    ),
    ProblemType("too_many_requests", 429, "Too many requests", "Rate limit exceeded; see the `Retry-After` header."),
    ProblemType("internal_error", 500, "Internal error", "The server failed; the `X-Correlation-Id` header identifies the request."),
    ProblemType("unavailable", 503, "Service unavailable", "A service behind the gateway is not answering; retry later."),
]  # fmt: skip
CATALOGUE: dict[str, ProblemType] = {t.code: t for t in _TYPES}


# The gateway's own refusals, with problem types of their own.
class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class InvalidPrecondition(BadRequest):
    code = "invalid_precondition"


class MethodNotAllowed(YilinError):
    status = 405
    code = "method_not_allowed"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"


class UnsupportedMediaType(YilinError):
    status = 415
    code = "unsupported_media_type"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class PreconditionRequired(YilinError):
    status = 428
    code = "precondition_required"


class InternalError(YilinError):
    status = 500
    code = "internal_error"


class Unavailable(YilinError):
    status = 503
    code = "unavailable"


# -- the document schema (for OpenAPI) ----------------------------------------------------
class FieldError(Schema):
    field = fields.String(
        required=True,
        metadata={
            "description": "A body property as a dotted path (`entries.0.minutes`), or a parameter or header name."
        },
    )
    detail = fields.String(required=True)


class Problem(Schema):
    type = fields.String(required=True, metadata={"format": "uri", "description": f"A problem type under {BASE}."})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(metadata={"description": "The request path."})
    errors = fields.List(fields.Nested(FieldError), metadata={"description": "Each offending input."})


# -- rendering ------------------------------------------------------------------------------
def field_errors(details: dict[str, Any], prefix: str = "") -> list[dict[str, str]]:
    """``{"entries": {"0": {"minutes": ["too many"]}}}`` as
    ``[{"field": "entries.0.minutes", "detail": "too many"}]`` (marshmallow's ``_schema``
    names the object it sits in; at the top, the body)."""
    out: list[dict[str, str]] = []
    for key, value in details.items():
        name = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
        messages = value if isinstance(value, list) else [value]
        for message in messages:
            if isinstance(message, dict):
                out += field_errors(message, name)
            else:
                out.append({"field": name or "body", "detail": str(message)})
    return out


def problem(error: YilinError, instance: str | None = None) -> dict[str, Any]:
    """The problem details object of ``error``."""
    kind = (
        CATALOGUE.get(error.code)
        or CATALOGUE[next((t.code for t in _TYPES if t.status == error.status), "bad_request")]
    )
    body: dict[str, Any] = {"type": kind.uri, "title": kind.title, "status": error.status, "detail": error.message}
    if instance:
        body["instance"] = instance
    details = {k: v for k, v in error.fields.items() if k != "retry_after"}
    if details:
        body["errors"] = field_errors(details)
    return body


def problem_response(error: YilinError, instance: str | None = None) -> Response:
    """``error`` as an ``application/problem+json`` response, with the headers its status calls for."""
    response = Response(
        json.dumps(problem(error, instance), ensure_ascii=False), status=error.status, mimetype=MEDIA_TYPE
    )
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="yilin-api"'
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = (error.fields.get("retry_after") or ["60"])[0]
    return response
