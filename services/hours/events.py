"""Events the hours service publishes on ``hours.events``: ids, minutes and codes only."""

from marshmallow import Schema, fields

from yilin.events import EventCatalogue

EVENTS = EventCatalogue("hours")


class _EntryEvent(Schema):
    entry_id = fields.String(required=True, metadata={"description": "Ledger entry id (UUID)."})
    volunteer_id = fields.String(required=True)
    minutes = fields.Integer(required=True, metadata={"description": "Minutes of the entry."})


@EVENTS.define("hours.recorded")
class HoursRecorded(_EntryEvent):
    """Time served was recorded and awaits verification."""

    source = fields.String(required=True, metadata={"description": "ticket or activity."})
    source_id = fields.String(required=True, metadata={"description": "Ticket or attendance sheet id."})
    organisation_id = fields.String(required=True, allow_none=True, metadata={"description": "Recording organisation."})
    served_on = fields.Date(required=True)


@EVENTS.define("hours.verified")
class HoursVerified(_EntryEvent):
    """An entry was verified and now counts; ``verified_minutes`` is the volunteer's new total."""

    source = fields.String(required=True)
    source_id = fields.String(required=True)
    verified_minutes = fields.Integer(required=True)


@EVENTS.define("hours.rejected")
class HoursRejected(_EntryEvent):
    """An entry or correction request was rejected, or voided because its ticket was cancelled."""

    reason_code = fields.String(required=True, metadata={"description": "e.g. not_served, wrong_minutes, ticket_cancelled."})
    previous_status = fields.String(required=True)
    verified_minutes = fields.Integer(required=True)


@EVENTS.define("hours.unverified")
class HoursUnverified(_EntryEvent):
    """A verified entry went back to pending because its ticket was reopened."""

    reason_code = fields.String(required=True, metadata={"description": "ticket_reopened."})
    verified_minutes = fields.Integer(required=True)


@EVENTS.define("hours.correction_requested")
class CorrectionRequested(_EntryEvent):
    """A correction of a verified entry was requested."""

    corrects_entry_id = fields.String(required=True)


@EVENTS.define("hours.corrected")
class HoursCorrected(_EntryEvent):
    """An approved correction replaced an entry; ``minutes`` are the corrected minutes."""

    corrects_entry_id = fields.String(required=True)
    previous_minutes = fields.Integer(required=True)
    delta_minutes = fields.Integer(required=True)
    verified_minutes = fields.Integer(required=True)


@EVENTS.define("volunteer.star_level_reached")
class StarLevelReached(Schema):
    """A volunteer's verified hours (and, for 5★, a selection) reached a star level."""

    volunteer_id = fields.String(required=True)
    level = fields.Integer(required=True, metadata={"description": "1 to 5."})
    previous_level = fields.Integer(required=True)
    verified_minutes = fields.Integer(required=True)


@EVENTS.define("volunteer.star_level_lost")
class StarLevelLost(Schema):
    """A correction or reversal took a volunteer back under their star level."""

    volunteer_id = fields.String(required=True)
    level = fields.Integer(required=True, metadata={"description": "The new, lower level (0 to 4)."})
    previous_level = fields.Integer(required=True)
    verified_minutes = fields.Integer(required=True)
