"""Every registry payload, defined once: RPC arguments, HTTP bodies, responses and the
OpenAPI document all come from these schemas."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from services.registry.id_numbers import id_number_valid
from services.registry.places import LEVELS as PLACE_LEVELS
from yilin.fields import StrictBoolean, UtcDateTime
from yilin.paging import PageQuery
from yilin.pii import PHONE_NUMBER

ORGANISATION_KINDS = (
    "social_work_agency",
    "volunteer_organisation",
    "government_sector",
    "university",
    "social_enterprise",
    "residents_committee",
    "community_partner",
    "property_manager",
)
# Organisations a ticket can be given to as paid (or in-kind) work, beside volunteer teams.
PARTNER_KINDS = ("social_enterprise", "community_partner", "property_manager")
VOLUNTEER_STATUSES = ("active", "suspended", "left")
MEMBER_ROLES = ("member", "lead")
CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$", error="letters, digits, '_', '.', '-'; at most 40")
SKILL = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="lower-case code, e.g. first_aid"))


class PlaceIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    level = fields.String(required=True, validate=validate.OneOf(PLACE_LEVELS))
    parent_id = fields.UUID(load_default=None, allow_none=True)


class PlaceOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)
    parent_id = fields.String(allow_none=True)


class PlaceQuery(PageQuery):
    level = fields.String(validate=validate.OneOf(PLACE_LEVELS))
    parent_id = fields.UUID()


class OrganisationIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    community_id = fields.UUID(load_default=None, allow_none=True)
    services = fields.List(
        SKILL,
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "Skill codes of the services a partner offers (e.g. plumbing, locksmith)."},
    )
    covers = fields.List(
        fields.UUID(),
        load_default=list,
        validate=validate.Length(max=500),
        metadata={"description": "Ids of further communities (or villages) it serves, beyond its own."},
    )
    district_wide = StrictBoolean(load_default=False, metadata={"description": "Serves every community."})


class OrganisationOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    community_id = fields.String(allow_none=True)
    services = fields.List(fields.String(), required=True)
    covers = fields.List(fields.String(), required=True)
    district_wide = fields.Boolean(required=True)


class OrganisationQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(ORGANISATION_KINDS))
    community_id = fields.UUID()


class TeamIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    organisation_id = fields.UUID(required=True)
    community_id = fields.UUID(required=True)
    professional = StrictBoolean(load_default=False)
    domain = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 40))
    skills = fields.List(SKILL, load_default=list, validate=validate.Length(max=20))
    covers = fields.List(
        fields.UUID(),
        load_default=list,
        validate=validate.Length(max=500),
        metadata={"description": "Ids of further communities (or villages) the team serves, beyond its own."},
    )
    district_wide = StrictBoolean(
        load_default=False,
        metadata={"description": "A district-level team (emergency rescue, mediation, ...) serves every community."},
    )


class TeamOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    organisation_id = fields.String(required=True)
    community_id = fields.String(required=True)
    professional = fields.Boolean(required=True)
    domain = fields.String(allow_none=True)
    skills = fields.List(fields.String(), required=True)
    covers = fields.List(fields.String(), required=True)
    district_wide = fields.Boolean(required=True)
    member_count = fields.Integer()


class TeamQuery(PageQuery):
    community_id = fields.UUID()
    organisation_id = fields.UUID()
    skill = fields.String()
    professional = fields.Boolean()


class CertificationIn(Schema):
    kind = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    number = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 60))
    issued_on = fields.Date(load_default=None, allow_none=True)


class VolunteerIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    id_number = fields.String(required=True)
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(PHONE_NUMBER.pattern, error="11-digit mobile number"),
    )
    community_id = fields.UUID(required=True)
    organisation_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The volunteer's own organisation, whose administrators may edit them; an organisation "
            "administrator registers only for their own (the default)."
        },
    )
    skills = fields.List(SKILL, load_default=list, validate=validate.Length(max=30))
    certifications = fields.List(fields.Nested(CertificationIn), load_default=list, validate=validate.Length(max=20))
    party_member = StrictBoolean(load_default=False)

    @validates("id_number")
    def _id_number(self, value: str, **_: object) -> None:
        if not id_number_valid(value):
            raise ValidationError("not a valid 18-character resident ID number")


class VolunteerPatch(Schema):
    name = fields.String(validate=validate.Length(1, 100))
    phone = fields.String(
        allow_none=True, validate=validate.Regexp(PHONE_NUMBER.pattern, error="11-digit mobile number")
    )
    community_id = fields.UUID()
    skills = fields.List(SKILL, validate=validate.Length(max=30))
    certifications = fields.List(fields.Nested(CertificationIn), validate=validate.Length(max=20))
    party_member = StrictBoolean()
    status = fields.String(validate=validate.OneOf(VOLUNTEER_STATUSES))


class CertificationOut(Schema):
    kind = fields.String(required=True)
    number = fields.String(allow_none=True)
    issued_on = fields.Date(allow_none=True)


class VolunteerOut(Schema):
    id = fields.String(required=True)
    number = fields.String(required=True, metadata={"description": "Volunteer number shown on certificates."})
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "Masked, e.g. 5101**********1234."})
    phone = fields.String(allow_none=True, metadata={"description": "Masked, e.g. 138****5678."})
    community_id = fields.String(required=True)
    organisation_id = fields.String(
        allow_none=True, metadata={"description": "The volunteer's own organisation (null: the district's)."}
    )
    skills = fields.List(fields.String(), required=True)
    certifications = fields.List(fields.Nested(CertificationOut), required=True)
    party_member = fields.Boolean(required=True)
    status = fields.String(required=True)
    team_ids = fields.List(fields.String(), required=True)
    created_at = UtcDateTime(required=True)


class VolunteerQuery(PageQuery):
    community_id = fields.UUID()
    skill = fields.String()
    team_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(VOLUNTEER_STATUSES))


class MembershipIn(Schema):
    volunteer_id = fields.UUID(required=True)
    role = fields.String(load_default="member", validate=validate.OneOf(MEMBER_ROLES))


class MembershipOut(Schema):
    team_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    role = fields.String(required=True)
    joined_at = UtcDateTime(required=True)


class MemberOut(MembershipOut):
    status = fields.String(required=True, metadata={"description": "The volunteer's status."})


class UnitIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    community_id = fields.UUID(required=True)
    sector_id = fields.UUID(required=True)
    agency_id = fields.UUID(required=True)
    volunteer_organisation_id = fields.UUID(required=True)
    volunteer_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=500))


class UnitOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    community_id = fields.String(required=True)
    sector_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    volunteer_organisation_id = fields.String(required=True)
    volunteer_ids = fields.List(fields.String(), required=True)


class UnitQuery(PageQuery):
    community_id = fields.UUID()


class ImportResult(Schema):
    created = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    rejected = fields.List(fields.Dict(), required=True, metadata={"description": "Row index and field errors."})


class CadreIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 100))
    organisation_id = fields.UUID(
        required=True,
        metadata={"description": "The cadre's own organisation (a sector, a committee, a university, ...)."},
    )
    volunteer_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The cadre's volunteer record, when they are a registered volunteer; staff have none."
        },
    )
    grid_ids = fields.List(
        fields.UUID(),
        required=True,
        validate=validate.Length(1, 20),
        metadata={"description": "The grids (places of level grid) the cadre accompanies."},
    )


class CadreOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    organisation_id = fields.String(required=True)
    volunteer_id = fields.String(allow_none=True)
    party_member = fields.Boolean(
        required=True, metadata={"description": "Always true: a government party-member cadre."}
    )
    grid_ids = fields.List(fields.String(), required=True)


class CadreQuery(PageQuery):
    grid_id = fields.UUID()
    organisation_id = fields.UUID()


class GridOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    community_id = fields.String(required=True, metadata={"description": "The community or village it lies in."})
    cadre_ids = fields.List(fields.String(), required=True)


class CandidateOut(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("team", "partner")))
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    professional = fields.Boolean(required=True)
    domain = fields.String(allow_none=True)
    skills = fields.List(fields.String(), required=True)
    member_count = fields.Integer(required=True)
    coverage = fields.String(required=True, validate=validate.OneOf(("home", "covers", "district")))


class SocialWorkerOut(Schema):
    volunteer_id = fields.String(required=True)
    name = fields.String(required=True)
    number = fields.String(required=True)
    unit_id = fields.String(allow_none=True)
    source = fields.String(required=True, validate=validate.OneOf(("unit", "agency")))


class RegistryCounts(Schema):
    places = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    teams = fields.Integer(required=True)
    professional_teams = fields.Integer(required=True)
    volunteers = fields.Integer(required=True)
    certified_social_workers = fields.Integer(required=True)
    partners = fields.Integer(required=True)
    cadres = fields.Integer(required=True)
    cadres_on_grids = fields.Integer(required=True)
