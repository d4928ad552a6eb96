"""Compiled dump-and-check and load for plain marshmallow schemas: the shape of most
event payloads (ids, strings, integers, booleans, dates and lists of them) and of a
bulk import's rows (the same, plus lists of nested plain schemas).

``EventType.validate`` dumps every payload through its schema and validates the result,
some 70 µs an event in marshmallow's generic field machinery; a bulk import emits
thousands in one transaction. :func:`compile_dump` reads a schema's declared fields once
and returns a plain function doing the same for the payloads it can vouch for, in a few
µs. It answers ``None`` whenever it is not certain (a value of another type, a missing
or null required field, a failing validator): the caller then runs marshmallow, which
gives the verdict and the error message. So a payload it accepts is one marshmallow
accepts, dumped to the same dict; any other takes the usual path.

:func:`compile_load` does the same for ``schema.load``: a row it accepts is loaded to
what marshmallow loads it to (validators and ``@validates`` methods run as marshmallow
runs them); any other row, with its field errors, is marshmallow's."""

from __future__ import annotations

import uuid
import weakref
from datetime import date, datetime
from typing import Any, Callable

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing
from marshmallow.decorators import VALIDATES

from yilin.fields import StrictBoolean

# A value as given → its dumped form, or _DECLINE when marshmallow must decide.
_Convert = Callable[[Any], Any]
Dump = Callable[[dict[str, Any]], "dict[str, Any] | None"]
Load = Callable[[Any], "dict[str, Any] | None"]

_DECLINE = object()


def compile_dump(schema: Schema) -> Dump | None:
    """A function giving ``schema.dump(data)`` for a ``data`` dict that
    ``schema.validate`` would find valid once dumped, and ``None`` for any other; or
    ``None`` itself when the schema is not flat enough to compile (a hook, a nested
    schema, a custom field class, a default, a renamed key: marshmallow handles those).
    Field validators (``OneOf``, ``Length``…) are run as marshmallow runs them."""
    if schema.many or any(schema._hooks.values()):
        return None
    if not set(schema.declared_fields) == set(schema.dump_fields) == set(schema.load_fields):
        return None  # ``only``, ``exclude`` or a one-way field: marshmallow's to follow
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
            if any(item is _DECLINE for item in items) or (checks and not _passes(checks, items)):
                return _DECLINE
            return items

        return convert_list
    if type(field) is fields.Date and field.format in (None, "iso", "iso8601"):
        return _dump_date(field.validators)
    return _scalar(field)


def _dump_date(checks: list[Any]) -> _Convert:
    """A ``date`` dumps as its ISO form, which loads back to the same date (the one the
    validators see); a ``datetime`` or a string is left to marshmallow."""

    def convert(value: Any) -> Any:
        if type(value) is not date or (checks and not _passes(checks, value)):
            return _DECLINE
        return value.isoformat()

    return convert


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
        for check in checks:
            if check(value) is False:
                return False
    except ValidationError:
        return False
    return True


_LOADERS: weakref.WeakKeyDictionary[Schema, Load | None] = weakref.WeakKeyDictionary()


def compiled_load(schema: Schema) -> Load | None:
    """:func:`compile_load` of ``schema``, compiled once per schema instance."""
    if schema not in _LOADERS:
        _LOADERS[schema] = compile_load(schema)
    return _LOADERS[schema]


def compile_load(schema: Schema, unknown: str | None = None) -> Load | None:
    """A function giving ``schema.load(item)`` (one item, even for a ``many`` schema;
    ``schema.load(item, unknown=unknown)`` if ``unknown`` is given) for an item
    marshmallow would load without error, and ``None`` for any other; or ``None`` itself
    for a schema it cannot follow (a load or schema-level hook, partial, unknown fields
    kept rather than refused or left out, a custom field, a renamed key)."""
    hooks = {tag for tag, registered in schema._hooks.items() if registered}
    unknown = unknown or schema.unknown
    if hooks - {VALIDATES, "pre_dump", "post_dump"} or unknown not in (RAISE, EXCLUDE) or schema.partial:
        return None
    refuse_unknown = unknown == RAISE  # else left out, as marshmallow's EXCLUDE does
    loaders: list[tuple[str, bool, bool, Any, _Convert]] = []
    for name, field in schema.load_fields.items():
        convert = _loader(field)
        if convert is None or field.data_key or field.attribute:
            return None
        loaders.append((name, bool(field.required), bool(field.allow_none), field.load_default, convert))
    names = {name for name, *_ in loaders}
    checks: list[tuple[str, Callable[..., Any]]] = []
    for attr_name, _, kwargs in schema._hooks[VALIDATES]:
        for field_name in kwargs["field_names"]:
            if field_name not in names:
                return None
            checks.append((field_name, getattr(schema, attr_name)))

    def load(item: Any) -> dict[str, Any] | None:
        if type(item) is not dict or (refuse_unknown and not names.issuperset(item)):
            return None  # an unknown field is refused by marshmallow
        out: dict[str, Any] = {}
        for name, required, allow_none, default, convert in loaders:
            value = item.get(name, missing)
            if value is missing:
                if required:
                    return None
                if default is not missing:
                    out[name] = default() if callable(default) else default
                continue
            if value is None:
                if not allow_none:
                    return None
                out[name] = None
                continue
            loaded = convert(value)
            if loaded is _DECLINE:
                return None
            out[name] = loaded
        for name, check in checks:
            if name in out:
                try:
                    if check(out[name], data_key=name) is missing:
                        return None
                except ValidationError:
                    return None
        return out

    return load


def _loader(field: fields.Field[Any]) -> _Convert | None:
    """How one field loads a value it is sure of, or ``None`` for a field not compiled."""
    kind, checks = type(field), field.validators
    if kind is fields.List:
        inner = _loader(field.inner)  # type: ignore[attr-defined]  # a List has its inner field
        if inner is None:
            return None

        def load_list(value: Any) -> Any:
            if type(value) is not list:
                return _DECLINE
            items = [inner(item) for item in value]
            if any(item is _DECLINE for item in items) or (checks and not _passes(checks, items)):
                return _DECLINE
            return items

        return load_list
    if kind is fields.Nested:
        return _nested(field)
    if kind is fields.UUID:
        return _checked(_load_uuid, checks)
    if kind is fields.Date and field.format in (None, "iso", "iso8601"):  # type: ignore[attr-defined]  # a Date has its format
        return _checked(_load_date, checks)
    if kind is fields.DateTime and field.format in (None, "iso", "iso8601"):  # type: ignore[attr-defined]  # a DateTime has its format
        return _checked(_load_datetime, checks)
    if kind is fields.Dict and field.key_field is None and field.value_field is None:  # type: ignore[attr-defined]  # a Dict has both
        return _checked(_load_dict, checks)
    if kind is StrictBoolean:
        return _typed(bool, checks)
    return _scalar(field)


def _nested(field: Any) -> _Convert | None:
    if field.many or field.unknown is not None or field.only or field.exclude:
        return None
    inner = compile_load(field.schema)
    if inner is None:
        return None
    checks = field.validators

    def load_nested(value: Any) -> Any:
        loaded = inner(value)
        if loaded is None or (checks and not _passes(checks, loaded)):
            return _DECLINE
        return loaded

    return load_nested


def _checked(convert: _Convert, checks: list[Any]) -> _Convert:
    if not checks:
        return convert

    def convert_checked(value: Any) -> Any:
        loaded = convert(value)
        if loaded is _DECLINE or not _passes(checks, loaded):
            return _DECLINE
        return loaded

    return convert_checked


def _parsing(kind: type, parse: Callable[[str], Any]) -> _Convert:
    """A converter that takes a ``kind`` as it is and parses a string into one."""

    def load(value: Any) -> Any:
        if type(value) is kind:
            return value
        if type(value) is not str:
            return _DECLINE
        try:
            return parse(value)
        except ValueError:
            return _DECLINE

    return load


_load_uuid = _parsing(uuid.UUID, uuid.UUID)
_load_date = _parsing(date, date.fromisoformat)
_load_datetime = _parsing(datetime, datetime.fromisoformat)  # as marshmallow's DateTime(format="iso") reads it


def _load_dict(value: Any) -> Any:
    return dict(value) if type(value) is dict else _DECLINE  # marshmallow's Dict loads a copy
