"""A compiled dump-and-check for flat marshmallow schemas, the shape of most event
payloads (ids, strings, integers, booleans and lists of them).

``EventType.validate`` dumps every payload through its schema and validates the result,
some 70 µs an event in marshmallow's generic field machinery; a bulk import emits
thousands in one transaction. :func:`compile_dump` reads a schema's declared fields once
and returns a plain function doing the same for the payloads it can vouch for, in a few
µs. It answers ``None`` whenever it is not certain (a value of another type, a missing
or null required field, a failing validator): the caller then runs marshmallow, which
gives the verdict and the error message. So a payload it accepts is one marshmallow
accepts, dumped to the same dict; any other takes the usual path."""

from __future__ import annotations

import uuid
from typing import Any, Callable

from marshmallow import Schema, ValidationError, fields, missing

# A value as given → its dumped form, or _DECLINE when marshmallow must decide.
_Convert = Callable[[Any], Any]
Dump = Callable[[dict[str, Any]], "dict[str, Any] | None"]

_DECLINE = object()


def compile_dump(schema: Schema) -> Dump | None:
    """A function giving ``schema.dump(data)`` for a ``data`` dict that
    ``schema.validate`` would find valid once dumped, and ``None`` for any other; or
    ``None`` itself when the schema is not flat enough to compile (a hook, a nested
    schema, a custom field class, a default, a renamed key: marshmallow handles those).
    Field validators (``OneOf``, ``Length``…) are run as marshmallow runs them."""
    if schema.many or any(schema._hooks.values()):
        return None
    converters: list[tuple[str, bool, bool, _Convert]] = []
    for name, field in schema.declared_fields.items():
        convert = _converter(field)
        if convert is None or field.load_only or field.dump_only or field.data_key or field.attribute:
            return None
        if field.dump_default is not missing:
            return None
        converters.append((name, bool(field.required), bool(field.allow_none), convert))

    def dump(data: dict[str, Any]) -> dict[str, Any] | None:
        if type(data) is not dict:
            return None
        out: dict[str, Any] = {}
        for name, required, allow_none, convert in converters:
            value = data.get(name, missing)
            if value is missing:
                if required:
                    return None
                continue
            if value is None:
                if not allow_none:
                    return None
                out[name] = None
                continue
            dumped = convert(value)
            if dumped is _DECLINE:
                return None
            out[name] = dumped
        return out

    return dump


def _converter(field: fields.Field[Any]) -> _Convert | None:
    """How one field dumps a value it is sure of, or ``None`` for a field not compiled."""
    kind = type(field)
    if kind is fields.List:
        inner = _scalar(field.inner)  # type: ignore[attr-defined]  # a List has its inner field
        if inner is None or (field.validators and type(field.inner) is fields.UUID):  # type: ignore[attr-defined]  # as above
            return None  # a list validator would see UUID objects, not the strings dumped
        checks = field.validators

        def convert_list(value: Any) -> Any:
            if type(value) is not list and type(value) is not tuple:
                return _DECLINE
            items = [inner(item) for item in value]
            if _DECLINE in items or not _passes(checks, items):
                return _DECLINE
            return items

        return convert_list
    return _scalar(field)


def _scalar(field: fields.Field[Any]) -> _Convert | None:
    kind, checks = type(field), field.validators
    if kind is fields.UUID and not checks:
        return _uuid
    if kind is fields.String:
        return _typed(str, checks)
    if kind is fields.Integer and not field.as_string:  # type: ignore[attr-defined]  # Integer has as_string
        return _typed(int, checks)
    if kind is fields.Boolean and field.truthy is fields.Boolean.truthy and field.falsy is fields.Boolean.falsy:  # type: ignore[attr-defined]  # Boolean has both sets
        return _typed(bool, checks)
    return None


def _typed(exact: type, checks: list[Any]) -> _Convert:
    """Values of exactly ``exact`` dump (and load back) as themselves."""

    def convert(value: Any) -> Any:
        if type(value) is not exact or (checks and not _passes(checks, value)):
            return _DECLINE
        return value

    return convert


def _uuid(value: Any) -> Any:
    if type(value) is uuid.UUID:
        return str(value)
    if type(value) is not str:
        return _DECLINE
    try:
        uuid.UUID(value)
    except ValueError:
        return _DECLINE
    return value


def _passes(checks: list[Any], value: Any) -> bool:
    """Whether every validator accepts ``value``, as marshmallow judges it (a plain
    function answering ``False`` fails too)."""
    try:
        return all(check(value) is not False for check in checks)
    except ValidationError:
        return False
