"""Events the tickets service publishes on ``tickets.events``. Ids, community ids and
category codes only: a resident's name, phone and address never leave the service."""

from marshmallow import Schema, fields, validate

from yilin.events import EventCatalogue

EVENTS = EventCatalogue("tickets")

ESCALATION_REASONS = ("overdue_assign", "overdue_resolve", "dispute", "manual")


class TicketRef(Schema):
    ticket_id = fields.String(required=True, metadata={"description": "Ticket id (UUID)."})
    community_id = fields.String(required=True, metadata={"description": "Community place id (UUID)."})
    category_code = fields.String(required=True, metadata={"description": "Ticket category code."})


@EVENTS.define("ticket.opened")
class TicketOpened(TicketRef):
    """A resident's need was recorded."""

    channel = fields.String(required=True, metadata={"description": "resident_online, hotline, door_to_door or suggestion_box."})
    needs_social_worker = fields.Boolean(required=True)
    assign_due_at = fields.DateTime(required=True, format="iso")
    resolve_due_at = fields.DateTime(required=True, format="iso")


@EVENTS.define("ticket.assigned")
class TicketAssigned(TicketRef):
    """A team and named volunteers took the ticket (again, on re-assignment)."""

    team_id = fields.String(required=True)
    volunteer_ids = fields.List(fields.String(), required=True)


@EVENTS.define("ticket.started")
class TicketStarted(TicketRef):
    """The team started work."""


class VolunteerMinutes(Schema):
    volunteer_id = fields.String(required=True)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                             metadata={"description": "Minutes actually served, travel excluded."})


@EVENTS.define("ticket.resolved")
class TicketResolved(TicketRef):
    """The team finished; each volunteer's minutes are what the hour ledger credits."""

    team_id = fields.String(required=True)
    resolved_at = fields.DateTime(required=True, format="iso")
    volunteers = fields.List(fields.Nested(VolunteerMinutes), required=True)


@EVENTS.define("ticket.confirmed")
class TicketConfirmed(TicketRef):
    """The resident confirmed the work (or the confirmation window passed)."""

    rating = fields.Integer(required=True, allow_none=True, strict=True, validate=validate.Range(1, 5),
                            metadata={"description": "Satisfaction 1–5; null when confirmed automatically."})
    automatic = fields.Boolean(required=True)


@EVENTS.define("ticket.escalated")
class TicketEscalated(TicketRef):
    """The ticket went to a professional social worker."""

    reason = fields.String(required=True, validate=validate.OneOf(ESCALATION_REASONS))


@EVENTS.define("ticket.reopened")
class TicketReopened(TicketRef):
    """The resident reopened a resolved ticket within the window."""


@EVENTS.define("ticket.cancelled")
class TicketCancelled(TicketRef):
    """The ticket was withdrawn."""
