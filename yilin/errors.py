"""One exception hierarchy for every service.

Each error carries an HTTP status, a stable machine-readable ``code`` and, where the
problem is in the input, the offending fields. The classes are registered with nameko
so an error raised in a service arrives at its RPC caller as the same type, and the
gateway maps it to a JSON body without guessing."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError
from nameko.exceptions import deserialize_to_instance

from yilin.flatschema import compiled_load


@deserialize_to_instance
class YilinError(Exception):
    """Base of every expected failure; ``fields`` maps a field name to its messages."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message, fields or {})

    @property
    def message(self) -> str:
        return str(self.args[0])

    @property
    def fields(self) -> dict[str, Any]:
        details: dict[str, Any] = self.args[1]
        return details

    def to_body(self) -> dict[str, Any]:
        """The JSON error body the gateway answers with."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


@deserialize_to_instance
class BadRequest(YilinError):
    status = 400
    code = "bad_request"


@deserialize_to_instance
class Unauthenticated(YilinError):
    status = 401
    code = "unauthenticated"


@deserialize_to_instance
class Forbidden(YilinError):
    status = 403
    code = "forbidden"


@deserialize_to_instance
class NotFound(YilinError):
    status = 404
    code = "not_found"


@deserialize_to_instance
class Conflict(YilinError):
    status = 409
    code = "conflict"


@deserialize_to_instance
class PreconditionFailed(YilinError):
    """The resource changed since the client read it: its ``If-Match`` tag is stale."""

    status = 412
    code = "precondition_failed"


@deserialize_to_instance
class PayloadTooLarge(YilinError):
    status = 413
    code = "payload_too_large"


@deserialize_to_instance
class InvalidInput(YilinError):
    status = 422
    code = "invalid_input"


@deserialize_to_instance
class MalformedInput(InvalidInput):
    """Input that does not fit its schema (:func:`load`): refused before anything was read
    or changed, so the same input always gets the same refusal. Like any
    :class:`InvalidInput` for the caller (422, the fields named); the gateway leaves the
    request's idempotency key free for the corrected request."""


@deserialize_to_instance
class TooManyRequests(YilinError):
    status = 429
    code = "too_many_requests"


def load(schema: Schema, data: Any, *, partial: bool = False) -> Any:
    """Validate and deserialise ``data`` with ``schema``; failures become
    :class:`MalformedInput` naming each offending field."""
    if not isinstance(data, dict) and not schema.many:
        raise MalformedInput("the body must be a JSON object", {"_schema": ["expected an object"]})
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        names = ", ".join(sorted(str(key) for key in messages))
        raise MalformedInput(f"invalid input in: {names}", messages) from None


def load_once_built(schema: Schema, data: Any) -> Any:
    """:func:`load` for a schema instance built once (at import), as a hot read's query
    is: what the schema's compiled loader (:func:`yilin.flatschema.compiled_load`, kept
    per instance) vouches for is loaded at a fifth of marshmallow's cost; anything else
    goes to :func:`load`, with its errors."""
    fast = compiled_load(schema)
    if fast is not None and not schema.many and (vouched := fast(data)) is not None:
        return vouched
    return load(schema, data)


def load_each(schema: Schema, items: list[Any]) -> tuple[dict[int, Any], dict[int, dict[str, Any]]]:
    """Validate and deserialise every item of a batch with ``schema`` (a ``many=True``
    instance): the loaded items and the field errors of the others, both by index.

    A plain schema's compiled loader (:func:`yilin.flatschema.compiled_load`) loads
    the items it can vouch for, at a fraction of marshmallow's cost; marshmallow loads
    the others, and its messages are the field errors. One ``many`` load for those
    costs less than an item at a time. An item that is not an object is reported as
    :func:`load` reports it; and when any item fails, the others are loaded again one
    by one, since marshmallow skips a failed batch's ``post_load`` hooks."""
    if not schema.many:
        raise ValueError("load_each needs a schema with many=True")
    errors: dict[int, dict[str, Any]] = {
        i: {"_schema": ["expected an object"]} for i, item in enumerate(items) if not isinstance(item, dict)
    }
    loaded: dict[int, Any] = {}
    fast = compiled_load(schema)
    if fast is not None:
        for i, item in enumerate(items):
            if i not in errors and (vouched := fast(item)) is not None:
                loaded[i] = vouched
    positions = [i for i in range(len(items)) if i not in errors and i not in loaded]
    objects = [items[i] for i in positions]
    if not objects:
        return loaded, errors
    try:
        loaded.update(zip(positions, schema.load(objects)))
        return dict(sorted(loaded.items())), errors
    except ValidationError as exc:
        failed = exc.messages if isinstance(exc.messages, dict) else {}
    for n, position in enumerate(positions):
        if isinstance(failed.get(n), dict):
            errors[position] = failed[n]
            continue
        try:
            loaded[position] = schema.load(objects[n], many=False)
        except ValidationError as exc:
            errors[position] = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return dict(sorted(loaded.items())), dict(sorted(errors.items()))
