"""Events the activities service publishes on ``activities.events``. Ids, counts and
times only: no volunteer's name or contact ever leaves the service."""

from marshmallow import Schema, fields, validate

from yilin.events import EventCatalogue

EVENTS = EventCatalogue("activities")

DAY_MINUTES = 24 * 60
KINDS = ("service", "training")
SIGN_UP_STATUSES = ("confirmed", "waiting")


def _instant(description: str) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        required=True, format="iso", metadata={"description": description + " (UTC, ISO 8601 with offset)."}
    )


def _id(description: str, **options: object) -> fields.String:
    return fields.String(required=True, metadata={"description": description}, **options)  # type: ignore[arg-type]  # marshmallow's options are loosely typed


def _ids(description: str) -> fields.List:
    return fields.List(fields.String(), required=True, metadata={"description": description})


@EVENTS.define("project.created")
class ProjectCreated(Schema):
    """Published when a social-work agency's project with volunteer organisations is set up."""

    project_id = _id("Project id (UUID).")
    agency_id = _id("Id (UUID) of the leading social-work agency (a registry organisation).")
    organisation_ids = _ids("Ids (UUID) of the volunteer organisations taking part.")
    team_ids = _ids("Ids (UUID) of the volunteer teams taking part.")
    service_domain = _id("The 1+1+1+N service domain, e.g. child_care, elder_care, new_employment.")
    community_ids = _ids("Ids (UUID) of the communities the project serves.")
    beneficiary_groups = _ids("Beneficiary groups, e.g. children_in_difficulty, elderly_living_alone.")
    starts_on = fields.Date(required=True, metadata={"description": "First day of the project (local date)."})
    ends_on = fields.Date(required=True, metadata={"description": "Last day of the project (local date)."})
    disbursement_id = fields.String(
        allow_none=True,
        metadata={"description": "Id (UUID) of the community-fund disbursement paying for it, or null."},
    )


class ActivityRef(Schema):
    activity_id = _id("Activity id (UUID).")


@EVENTS.define("activity.published")
class ActivityPublished(ActivityRef):
    """Published when an organisation publishes an activity volunteers can sign up for."""

    project_id = fields.String(allow_none=True, metadata={"description": "Id (UUID) of its project, or null."})
    organisation_id = _id("Id (UUID) of the organising organisation (a registry organisation).")
    kind = _id("service (volunteer service) or training (a training session).", validate=validate.OneOf(KINDS))
    community_id = _id("Id (UUID) of the community it takes place in.")
    starts_at = _instant("When it starts")
    ends_at = _instant("When it ends")
    capacity = fields.Integer(required=True, strict=True, metadata={"description": "Places for confirmed sign-ups."})
    required_skills = _ids("Skill codes a volunteer should bring.")


@EVENTS.define("activity.signed_up")
class ActivitySignedUp(ActivityRef):
    """Published when a volunteer signs up: confirmed while places remain, else on the waiting list."""

    volunteer_id = _id("Volunteer id (UUID).")
    status = _id("confirmed or waiting.", validate=validate.OneOf(SIGN_UP_STATUSES))


@EVENTS.define("activity.sign_up_cancelled")
class SignUpCancelled(ActivityRef):
    """Published when a volunteer withdraws; the first on the waiting list, if any, moves up."""

    volunteer_id = _id("Id (UUID) of the volunteer who withdrew.")
    promoted_volunteer_id = fields.String(
        allow_none=True,
        metadata={"description": "Id (UUID) of the volunteer moved up from the waiting list, or null."},
    )


@EVENTS.define("activity.closed")
class ActivityClosed(ActivityRef):
    """Published when the organiser closes an activity: its counts are final."""

    project_id = fields.String(allow_none=True, metadata={"description": "Id (UUID) of its project, or null."})
    organisation_id = _id("Id (UUID) of the organising organisation.")
    kind = _id("service or training.", validate=validate.OneOf(KINDS))
    community_id = _id("Id (UUID) of the community it took place in.")
    attended = fields.Integer(required=True, strict=True, metadata={"description": "Volunteers who checked in."})
    no_shows = fields.Integer(
        required=True, strict=True, metadata={"description": "Confirmed volunteers who did not come."}
    )
    beneficiary_visits = fields.Integer(
        required=True, strict=True, metadata={"description": "Beneficiary visits counted (no names)."}
    )
    closed_at = _instant("When it was closed")


class Attendee(Schema):
    volunteer_id = _id("Volunteer id (UUID).")
    started_at = _instant("When the volunteer's time starts (check-in, not before the activity's start)")
    ended_at = _instant("When it ends (check-out, not after the activity's end)")
    minutes = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=DAY_MINUTES),
        metadata={"description": "Whole minutes served, at most 1440."},
    )


@EVENTS.define("activity.attendance_recorded")
class AttendanceRecorded(ActivityRef):
    """Published when a service activity closes: each attendee's minutes, which the hour ledger records
    against the organising organisation (pending until a verifier who is neither the organiser nor an
    attendee verifies them)."""

    organisation_id = _id("Id (UUID) of the organising organisation.")
    organiser_id = _id("Subject who organised it (it may not verify these hours).")
    community_id = _id("Id (UUID) of the community it took place in.")
    title = _id("The activity's title (no personal data).", validate=validate.Length(1, 200))
    attendees = fields.List(
        fields.Nested(Attendee), required=True, metadata={"description": "Each attendee, sorted by volunteer id."}
    )


@EVENTS.define("training.completed")
class TrainingCompleted(ActivityRef):
    """Published for each volunteer who attended a training session, when it closes."""

    volunteer_id = _id("Volunteer id (UUID).")
    organisation_id = _id("Id (UUID) of the organisation that gave the training.")
    title = _id("The training's title.", validate=validate.Length(1, 200))
    completed_on = fields.Date(required=True, metadata={"description": "Local date of the session."})
    minutes = fields.Integer(required=True, strict=True, metadata={"description": "Minutes attended."})


@EVENTS.define("commendation.awarded")
class CommendationAwarded(Schema):
    """Published when an organisation awards a volunteer a commendation."""

    commendation_id = _id("Commendation id (UUID).")
    volunteer_id = _id("Volunteer id (UUID).")
    organisation_id = _id("Id (UUID) of the awarding organisation.")
    title = _id("Title of the commendation, e.g. 优秀志愿者.", validate=validate.Length(1, 200))
    level = _id("Level: district, street, community or organisation.")
    awarded_on = fields.Date(required=True, metadata={"description": "Date of the award."})
    awarding_body = _id("Name of the awarding body as written on the award.", validate=validate.Length(1, 200))
