"""marshmallow → JSON Schema: the one mapping of a payload schema to what it puts on the
wire, used by the event contract and by the gateway's OpenAPI document."""

from __future__ import annotations

from typing import Any, Iterator

from marshmallow import Schema, fields, validate

# -- marshmallow → JSON Schema ---------------------------------------------------------
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def json_schema(schema: type[Schema] | Schema) -> dict[str, Any]:
    """The JSON Schema of what ``schema.dump`` puts on the wire."""
    instance = schema() if isinstance(schema, type) else schema
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in instance.fields.items():
        if field.load_only:
            continue  # never dumped, so never published
        key = field.data_key or name
        properties[key] = field_schema(field, key)
        if field.required:
            required.append(key)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = sorted(required)
    return out


def field_schema(field: fields.Field, name: str) -> dict[str, Any]:
    """JSON Schema of one field, with its validators, nullability and description."""
    out = _base_schema(field, name)
    for validator in _validators(field):
        _apply_validator(out, validator)
    if field.allow_none:
        _allow_null(out)
    description = field.metadata.get("description")
    if description:
        out["description"] = description
    unit = field_unit(field, name)
    if unit:
        out["x-unit"] = unit
    if "example" in field.metadata:
        out["examples"] = [field.metadata["example"]]
    return out


def _base_schema(field: fields.Field, name: str) -> dict[str, Any]:
    # Order matters: UUID, Email and URL are Strings in some marshmallow versions,
    # AwareDateTime a DateTime, Pluck a Nested, Integer and Decimal Numbers.
    if isinstance(field, fields.UUID):
        return {"type": "string", "format": "uuid"}
    if isinstance(field, fields.Email):
        return {"type": "string", "format": "email"}
    if isinstance(field, fields.URL):
        return {"type": "string", "format": "uri"}
    if isinstance(field, fields.String):
        return {"type": "string"}
    if isinstance(field, fields.Boolean):
        return {"type": "boolean"}
    if isinstance(field, fields.Integer):
        return {"type": "integer"}
    if isinstance(field, fields.Decimal):
        # Exact amounts travel as strings so no JSON parser turns them into floats.
        return {"type": "string", "pattern": DECIMAL_PATTERN, "format": "decimal"}
    if isinstance(field, fields.Number):  # Float, or a plain Number
        return {"type": "number"}
    if isinstance(field, fields.DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(field, fields.Date):
        return {"type": "string", "format": "date"}
    if isinstance(field, fields.Time):
        return {"type": "string", "format": "time"}
    if isinstance(field, fields.Pluck):
        raise TypeError(f"field {name!r}: fields.Pluck is not supported in event schemas")
    if isinstance(field, fields.Nested):
        nested = json_schema(field.schema)
        return {"type": "array", "items": nested} if field.many else nested
    if isinstance(field, fields.List):
        return {"type": "array", "items": field_schema(field.inner, name)}
    if isinstance(field, fields.Mapping):
        out: dict[str, Any] = {"type": "object"}
        if field.value_field is not None:
            out["additionalProperties"] = field_schema(field.value_field, name)
        if field.key_field is not None:
            keys = field_schema(field.key_field, name)
            keys.pop("x-unit", None)
            out["propertyNames"] = keys
        return out
    if isinstance(field, fields.Tuple):
        items = [field_schema(f, name) for f in field.tuple_fields]
        return {"type": "array", "items": items, "minItems": len(items), "maxItems": len(items)}
    if isinstance(field, fields.Enum):
        if field.by_value is False:
            values = [member.name for member in field.enum]
        else:
            values = [field.field._serialize(member.value, None, None) for member in field.enum]
        kinds = {_JSON_TYPES.get(type(v), "string") for v in values}
        return {"type": kinds.pop(), "enum": values} if len(kinds) == 1 else {"enum": values}
    if isinstance(field, fields.Constant):
        return {"const": field.constant}
    if type(field) is fields.Raw:
        return {}
    raise TypeError(
        f"field {name!r}: {type(field).__name__} has no JSON Schema mapping in yilinctl.jsonschema; "
        "use String, Integer, Boolean, UUID, DateTime, Date, List, Nested, Dict, Enum, Decimal or Raw"
    )


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _validators(field: fields.Field) -> Iterator[Any]:
    for validator in field.validators:
        if isinstance(validator, validate.And):
            yield from validator.validators
        else:
            yield validator


def _apply_validator(out: dict[str, Any], validator: Any) -> None:
    array = out.get("type") == "array"
    if isinstance(validator, validate.OneOf):
        out["enum"] = list(validator.choices)
    elif isinstance(validator, validate.Range):
        for bound, inclusive, keyword in (
            (validator.min, validator.min_inclusive, "minimum"),
            (validator.max, validator.max_inclusive, "maximum"),
        ):
            if bound is not None:
                out[keyword if inclusive else "exclusive" + keyword.capitalize()] = bound
    elif isinstance(validator, validate.Length):
        low, high = ("minItems", "maxItems") if array else ("minLength", "maxLength")
        if validator.equal is not None:
            out[low] = out[high] = validator.equal
        else:
            if validator.min is not None:
                out[low] = validator.min
            if validator.max is not None:
                out[high] = validator.max
    elif isinstance(validator, validate.Regexp):
        out["pattern"] = validator.regex.pattern
    # Other validators (functions, custom classes) have no JSON Schema form; the
    # publishing side still enforces them.


def _allow_null(out: dict[str, Any]) -> None:
    if "const" in out:
        out["enum"] = [out.pop("const"), None]
        return
    if "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = types + ["null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]


UNITS = {
    "fen": "fen (integer; 100 fen = 1 yuan)",
    "minutes": "minutes (integer)",
    "date-time": "UTC timestamp, ISO 8601 / RFC 3339",
    "date": "calendar date, YYYY-MM-DD",
}


def field_unit(field: fields.Field, name: str) -> str | None:
    """The unit of a field: ``metadata["unit"]``, else the house conventions (money in
    integer fen, time served in integer minutes) read from the field's name."""
    unit = field.metadata.get("unit")
    if unit:
        return UNITS.get(unit, unit)
    if isinstance(field, fields.Integer):
        if name == "minutes" or name.endswith("_minutes"):
            return UNITS["minutes"]
        if name in ("fen", "amount") or name.endswith(("_fen", "_amount")):
            return UNITS["fen"]
    if isinstance(field, fields.DateTime):
        return UNITS["date-time"]
    if isinstance(field, fields.Date):
        return UNITS["date"]
    return None
