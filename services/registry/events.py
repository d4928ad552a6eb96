"""Events the registry publishes on ``registry.events``. Ids and codes only: names, ID
numbers, phone numbers and addresses never leave the service."""

from marshmallow import Schema, fields, validate

from services.registry.schemas import MEMBER_ROLES, ORGANISATION_KINDS, PLACE_LEVELS, VOLUNTEER_STATUSES
from yilin.events import EventCatalogue

EVENTS = EventCatalogue("registry")

SKILLS = {"description": "Skill codes, sorted, e.g. first_aid, elder_care.", "example": ["elder_care", "first_aid"]}
COMMUNITY = {"description": "Id of the volunteer's home community (a place of level community)."}


@EVENTS.define("volunteer.registered")
class VolunteerRegistered(Schema):
    """Published when a volunteer is registered, one by one or in a bulk import."""

    volunteer_id = fields.UUID(required=True, metadata={"description": "Volunteer id."})
    volunteer_number = fields.String(
        required=True,
        metadata={"description": "Public volunteer number shown on certificates.", "example": "YL6F1C7A523C"},
    )
    community_id = fields.UUID(required=True, metadata=COMMUNITY)
    organisation_id = fields.UUID(
        allow_none=True,
        metadata={
            "description": "Id of the volunteer's organisation (set at registration, never changed); null for none. "
            "Absent from events published before it was added."
        },
    )
    skills = fields.List(fields.String(), required=True, metadata=SKILLS)
    certifications = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Kinds of certification held, sorted, e.g. social_worker.",
            "example": ["social_worker"],
        },
    )
    status = fields.String(
        required=True, validate=validate.OneOf(VOLUNTEER_STATUSES), metadata={"description": "Volunteer status."}
    )


@EVENTS.define("volunteer.updated")
class VolunteerUpdated(Schema):
    """Published when a volunteer's record changes; `changed` names the fields, personal ones included only by name."""

    volunteer_id = fields.UUID(required=True, metadata={"description": "Volunteer id."})
    changed = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Names of the changed fields, sorted.", "example": ["phone", "skills"]},
    )
    community_id = fields.UUID(required=True, metadata=COMMUNITY)
    skills = fields.List(
        fields.String(), required=True, metadata={**SKILLS, "description": "Skill codes after the change."}
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(VOLUNTEER_STATUSES),
        metadata={"description": "Volunteer status after the change."},
    )


@EVENTS.define("volunteer.deactivated")
class VolunteerDeactivated(Schema):
    """Published when an active volunteer is suspended or leaves; they can no longer be assigned."""

    volunteer_id = fields.UUID(required=True, metadata={"description": "Volunteer id."})
    status = fields.String(
        required=True, validate=validate.OneOf(("suspended", "left")), metadata={"description": "The new status."}
    )


@EVENTS.define("team.created")
class TeamCreated(Schema):
    """Published when a volunteer team is created."""

    team_id = fields.UUID(required=True, metadata={"description": "Team id."})
    code = fields.String(required=True, metadata={"description": "The team's short code, unique.", "example": "SUN"})
    organisation_id = fields.UUID(required=True, metadata={"description": "Id of the organisation running the team."})
    community_id = fields.UUID(required=True, metadata={"description": "Id of the community the team serves."})
    professional = fields.Boolean(
        required=True, metadata={"description": "True for a professional team (emergency rescue, women's rights, ...)."}
    )
    domain = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Professional domain code; null for a general team.", "example": "emergency_rescue"},
    )
    skills = fields.List(
        fields.String(), required=True, metadata={**SKILLS, "description": "Skill codes the team offers."}
    )
    covers = fields.List(
        fields.UUID(), metadata={"description": "Ids of further communities the team declares it serves."}
    )
    district_wide = fields.Boolean(
        metadata={"description": "True for a district-level team, which serves every community."}
    )


@EVENTS.define("team.member_joined")
class TeamMemberJoined(Schema):
    """Published when a volunteer joins a team."""

    team_id = fields.UUID(required=True, metadata={"description": "Team id."})
    volunteer_id = fields.UUID(required=True, metadata={"description": "Volunteer id."})
    role = fields.String(
        required=True,
        validate=validate.OneOf(MEMBER_ROLES),
        metadata={"description": "The volunteer's role in the team."},
    )


@EVENTS.define("team.member_left")
class TeamMemberLeft(Schema):
    """Published when a volunteer is removed from a team."""

    team_id = fields.UUID(required=True, metadata={"description": "Team id."})
    volunteer_id = fields.UUID(required=True, metadata={"description": "Volunteer id."})


@EVENTS.define("unit.formed")
class UnitFormed(Schema):
    """Published when a "1+1+1+N" service unit is formed: one government sector, one social-work agency, one volunteer organisation and N volunteers."""

    unit_id = fields.UUID(required=True, metadata={"description": "Service unit id."})
    community_id = fields.UUID(required=True, metadata={"description": "Id of the community the unit serves."})
    sector_id = fields.UUID(required=True, metadata={"description": "Id of the government sector organisation."})
    agency_id = fields.UUID(required=True, metadata={"description": "Id of the social-work agency."})
    volunteer_organisation_id = fields.UUID(
        required=True, metadata={"description": "Id of the volunteer organisation."}
    )
    volunteer_ids = fields.List(fields.UUID(), required=True, metadata={"description": "Ids of the unit's volunteers."})


@EVENTS.define("organisation.registered")
class OrganisationRegistered(Schema):
    """Published when an organisation (agency, sector, enterprise, committee, ...) is registered."""

    organisation_id = fields.UUID(required=True, metadata={"description": "Organisation id."})
    code = fields.String(
        required=True, metadata={"description": "The organisation's short code, unique.", "example": "PD-SWA-01"}
    )
    kind = fields.String(
        required=True, validate=validate.OneOf(ORGANISATION_KINDS), metadata={"description": "Kind of organisation."}
    )
    community_id = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "Id of the community it belongs to; null for district-wide organisations."},
    )
    services = fields.List(
        fields.String(), metadata={**SKILLS, "description": "Skill codes of the services a partner offers."}
    )
    covers = fields.List(fields.UUID(), metadata={"description": "Ids of further communities it declares it serves."})
    district_wide = fields.Boolean(metadata={"description": "True when it serves every community."})


@EVENTS.define("place.created")
class PlaceCreated(Schema):
    """Published when a place is added to the hierarchy (district → street or town → community or village → grid →
    compound); subscribers keep grids and their communities from it."""

    place_id = fields.UUID(required=True, metadata={"description": "Place id."})
    code = fields.String(
        required=True, metadata={"description": "The place's short code, unique.", "example": "PD-DY-HQ-G01"}
    )
    level = fields.String(required=True, validate=validate.OneOf(PLACE_LEVELS), metadata={"description": "Level."})
    parent_id = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "Id of the parent place (for a grid: its community or village); null for a district."},
    )


@EVENTS.define("cadre.assigned")
class CadreAssigned(Schema):
    """Published when a government party-member cadre is placed on the grids they accompany."""

    cadre_id = fields.UUID(required=True, metadata={"description": "Cadre id."})
    organisation_id = fields.UUID(required=True, metadata={"description": "Id of the cadre's organisation."})
    volunteer_id = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "The cadre's volunteer id; null for staff without a volunteer record."},
    )
    grid_ids = fields.List(fields.UUID(), required=True, metadata={"description": "Ids of the grids, sorted."})
