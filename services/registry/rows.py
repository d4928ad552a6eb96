"""Rows of the registry's bulk imports (places, organisations, teams, cadres), which name
each other by code so that a file, or a generator, can be loaded twice safely."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.registry.schemas import CODE, ORGANISATION_KINDS, PLACE_LEVELS, SKILL
from yilin.fields import StrictBoolean

CODES = fields.List(fields.String(validate=CODE), load_default=list, validate=validate.Length(max=500))


class PlaceRow(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    level = fields.String(required=True, validate=validate.OneOf(PLACE_LEVELS))
    parent_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=CODE,
        metadata={"description": "Code of the parent place, stored or earlier in the batch."},
    )


class OrganisationRow(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    community_code = fields.String(load_default=None, allow_none=True, validate=CODE)
    services = fields.List(SKILL, load_default=list, validate=validate.Length(max=20))
    covers = CODES
    district_wide = StrictBoolean(load_default=False)


class TeamRow(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    organisation_code = fields.String(required=True, validate=CODE)
    community_code = fields.String(required=True, validate=CODE)
    professional = StrictBoolean(load_default=False)
    domain = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 40))
    skills = fields.List(SKILL, load_default=list, validate=validate.Length(max=20))
    covers = CODES
    district_wide = StrictBoolean(load_default=False)


class CadreRow(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 100))
    organisation_code = fields.String(required=True, validate=CODE)
    grid_codes = fields.List(fields.String(validate=CODE), required=True, validate=validate.Length(1, 20))


class StructureImportResult(Schema):
    created = fields.Integer(required=True)
    duplicates = fields.Integer(required=True, metadata={"description": "Rows whose code was already stored."})
    rejected = fields.List(fields.Dict(), required=True, metadata={"description": "Row index and field errors."})
    ids = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Id of every accepted row's code, stored now or before."},
    )
