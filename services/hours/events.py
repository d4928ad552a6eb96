"""Events the hours service publishes on ``hours.events``: ids, minutes and codes only.
Minutes are integers; ``verified_minutes`` is always the volunteer's verified total
after the change, so a subscriber can keep totals without replaying the ledger."""

from marshmallow import Schema, fields

from yilin.events import EventCatalogue

EVENTS = EventCatalogue("hours")

VOLUNTEER = {"description": "Volunteer id (UUID)."}
TOTAL = {"description": "The volunteer's verified minutes in all, after this change."}


class _EntryEvent(Schema):
    entry_id = fields.String(required=True, metadata={"description": "Ledger entry id (UUID)."})
    volunteer_id = fields.String(required=True, metadata=VOLUNTEER)
    minutes = fields.Integer(required=True, metadata={"description": "Minutes of the entry."})


@EVENTS.define("hours.recorded")
class HoursRecorded(_EntryEvent):
    """Published when time served is recorded, from a resolved ticket or an attendance sheet; it awaits
    verification (pending), or is recorded already rejected when it breaks the 24-hours-a-day rule."""

    source = fields.String(required=True, metadata={"description": "Where the time comes from: ticket or activity."})
    source_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the ticket, or of the attendance sheet for an activity."}
    )
    organisation_id = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Id (UUID) of the recording organisation (the sheet's, or the ticket team's); null when "
            "the team's organisation is not known yet."
        },
    )
    served_on = fields.Date(required=True, metadata={"description": "The local (UTC+8) day the time was served."})


@EVENTS.define("hours.verified")
class HoursVerified(_EntryEvent):
    """Published when an entry is verified and starts counting: by a verifier of the recording organisation, or
    when the resident confirms the ticket it came from."""

    source = fields.String(required=True, metadata={"description": "Where the time comes from: ticket or activity."})
    source_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the ticket, or of the attendance sheet for an activity."}
    )
    verified_minutes = fields.Integer(required=True, metadata=TOTAL)


@EVENTS.define("hours.rejected")
class HoursRejected(_EntryEvent):
    """Published when an entry or a correction request is rejected, or an entry is voided because its ticket was
    cancelled."""

    reason_code = fields.String(
        required=True,
        metadata={
            "description": "Why: not_served, wrong_minutes, travel_time, duplicate, wrong_volunteer, other, "
            "over_daily_limit, overlap or ticket_cancelled."
        },
    )
    previous_status = fields.String(
        required=True,
        metadata={"description": "The entry's status before: pending, verified or requested (a correction)."},
    )
    verified_minutes = fields.Integer(required=True, metadata=TOTAL)


@EVENTS.define("hours.unverified")
class HoursUnverified(_EntryEvent):
    """Published when a verified entry goes back to pending because its ticket was reopened after its
    confirmation."""

    reason_code = fields.String(required=True, metadata={"description": "Why: ticket_reopened."})
    verified_minutes = fields.Integer(required=True, metadata=TOTAL)


@EVENTS.define("hours.correction_requested")
class CorrectionRequested(_EntryEvent):
    """Published when the volunteer or the recording organisation asks to correct a verified entry;
    ``entry_id`` is the correction request and ``minutes`` the corrected minutes asked for."""

    corrects_entry_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the verified entry the request would replace."}
    )


@EVENTS.define("hours.corrected")
class HoursCorrected(_EntryEvent):
    """Published when a correction is approved and replaces the entry it corrects; ``entry_id`` is the
    correction, now verified, and ``minutes`` the corrected minutes."""

    corrects_entry_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the entry replaced (now in status corrected)."}
    )
    previous_minutes = fields.Integer(required=True, metadata={"description": "Minutes of the replaced entry."})
    delta_minutes = fields.Integer(
        required=True,
        metadata={"description": "Corrected minus previous minutes, signed (negative when time was taken off)."},
    )
    verified_minutes = fields.Integer(required=True, metadata=TOTAL)


@EVENTS.define("volunteer.star_level_reached")
class StarLevelReached(Schema):
    """Published when a volunteer's verified hours (and, for 5★, a selection) reach a star level; one event per
    level crossed (defaults: 100, 300, 600, 1000 and 1500 hours)."""

    volunteer_id = fields.String(required=True, metadata=VOLUNTEER)
    level = fields.Integer(required=True, metadata={"description": "The star level reached, 1 to 5."})
    previous_level = fields.Integer(required=True, metadata={"description": "The level before, 0 to 4."})
    verified_minutes = fields.Integer(required=True, metadata=TOTAL)


@EVENTS.define("volunteer.star_level_lost")
class StarLevelLost(Schema):
    """Published when a correction, a reopened or cancelled ticket, or a withdrawn selection takes a volunteer
    back under their star level."""

    volunteer_id = fields.String(required=True, metadata=VOLUNTEER)
    level = fields.Integer(required=True, metadata={"description": "The new, lower level, 0 to 4."})
    previous_level = fields.Integer(required=True, metadata={"description": "The level before, 1 to 5."})
    verified_minutes = fields.Integer(required=True, metadata=TOTAL)
