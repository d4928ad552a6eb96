"""Events the registry publishes on ``registry.events``. Ids and codes only: names, ID
numbers, phone numbers and addresses never leave the service."""

from marshmallow import Schema, fields

from yilin.events import EventCatalogue

EVENTS = EventCatalogue("registry")


@EVENTS.define("volunteer.registered")
class VolunteerRegistered(Schema):
    """A volunteer joined the registry."""

    volunteer_id = fields.String(required=True, metadata={"description": "Volunteer id (UUID)."})
    volunteer_number = fields.String(required=True, metadata={"description": "Public volunteer number."})
    community_id = fields.String(required=True, metadata={"description": "Home community place id."})
    skills = fields.List(fields.String(), required=True, metadata={"description": "Skill codes."})
    certifications = fields.List(fields.String(), required=True, metadata={"description": "Certification kind codes."})
    status = fields.String(required=True, metadata={"description": "active, suspended or left."})


@EVENTS.define("volunteer.updated")
class VolunteerUpdated(Schema):
    """A volunteer's record changed; ``changed`` names the fields, personal ones included only by name."""

    volunteer_id = fields.String(required=True)
    changed = fields.List(fields.String(), required=True, metadata={"description": "Names of the changed fields."})
    community_id = fields.String(required=True)
    skills = fields.List(fields.String(), required=True)
    status = fields.String(required=True)


@EVENTS.define("volunteer.deactivated")
class VolunteerDeactivated(Schema):
    """A volunteer was suspended or left; they can no longer be assigned."""

    volunteer_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "suspended or left."})


@EVENTS.define("team.created")
class TeamCreated(Schema):
    """A volunteer team was created."""

    team_id = fields.String(required=True)
    code = fields.String(required=True)
    organisation_id = fields.String(required=True)
    community_id = fields.String(required=True)
    professional = fields.Boolean(required=True)
    domain = fields.String(required=True, allow_none=True, metadata={"description": "Professional domain code."})
    skills = fields.List(fields.String(), required=True)


@EVENTS.define("team.member_joined")
class TeamMemberJoined(Schema):
    """A volunteer joined a team."""

    team_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    role = fields.String(required=True, metadata={"description": "member or lead."})


@EVENTS.define("team.member_left")
class TeamMemberLeft(Schema):
    """A volunteer left a team."""

    team_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)


@EVENTS.define("unit.formed")
class UnitFormed(Schema):
    """A 1+1+1+N service unit was formed."""

    unit_id = fields.String(required=True)
    community_id = fields.String(required=True)
    sector_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    volunteer_organisation_id = fields.String(required=True)
    volunteer_ids = fields.List(fields.String(), required=True)


@EVENTS.define("organisation.registered")
class OrganisationRegistered(Schema):
    """An organisation joined the registry."""

    organisation_id = fields.String(required=True)
    code = fields.String(required=True)
    kind = fields.String(required=True)
    community_id = fields.String(required=True, allow_none=True)
