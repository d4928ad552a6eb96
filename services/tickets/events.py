"""Events the tickets service publishes on ``tickets.events``. Ids, community ids and
category codes only: a resident's name, phone and address never leave the service."""

from marshmallow import Schema, fields, validate

from yilin.events import EventCatalogue

EVENTS = EventCatalogue("tickets")

ESCALATION_REASONS = ("overdue_assign", "overdue_resolve", "dispute", "manual")
DAY_MINUTES = 24 * 60  # the hour ledger credits a ticket's time to one day


def _instant(description: str) -> fields.AwareDateTime:
    # Aware only: a naive time would be ambiguous to subscribers, so publishing one fails.
    return fields.AwareDateTime(
        required=True, format="iso", metadata={"description": description + " (UTC, ISO 8601 with offset)."}
    )


class TicketRef(Schema):
    ticket_id = fields.String(required=True, metadata={"description": "Ticket id (UUID)."})
    community_id = fields.String(required=True, metadata={"description": "Id (UUID) of the community the need is in."})
    category_code = fields.String(
        required=True,
        metadata={"description": "Ticket category code, e.g. blocked_drain, elder_home_visit, neighbour_dispute."},
    )


@EVENTS.define("ticket.opened")
class TicketOpened(TicketRef):
    """Published when a resident's need is recorded (online, by hotline, door to door or from the suggestion box)."""

    channel = fields.String(
        required=True,
        metadata={"description": "How the need came in: resident_online, hotline, door_to_door or suggestion_box."},
    )
    needs_social_worker = fields.Boolean(
        required=True, metadata={"description": "True when only a professional social-work team may take the ticket."}
    )
    grid_id = fields.String(
        allow_none=True, metadata={"description": "Id (UUID) of the grid (微网格) the need is in; null when not given."}
    )
    assign_due_at = _instant("When the ticket must be assigned by (SLA)")
    resolve_due_at = _instant("When the ticket must be resolved by (SLA)")


@EVENTS.define("ticket.assigned")
class TicketAssigned(TicketRef):
    """Published when a team and named volunteers take the ticket, and again on each re-assignment."""

    team_id = fields.String(required=True, metadata={"description": "Id (UUID) of the team that took the ticket."})
    volunteer_ids = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Ids (UUID) of the volunteers named on the ticket, sorted; replaces any earlier list."
        },
    )


@EVENTS.define("ticket.assigned_to_partner")
class TicketAssignedToPartner(TicketRef):
    """Published when a partner organisation (a social enterprise, community partner or property manager) takes the
    ticket instead of a team, with any volunteers named on it, and again on each re-assignment to a partner."""

    partner_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the partner organisation (a registry organisation)."}
    )
    volunteer_ids = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Ids (UUID) of the volunteers named on the ticket, sorted; may be empty for a partner."
        },
    )


@EVENTS.define("ticket.started")
class TicketStarted(TicketRef):
    """Published when the assigned team starts work on the ticket."""


class VolunteerMinutes(Schema):
    volunteer_id = fields.String(required=True, metadata={"description": "Volunteer id (UUID)."})
    minutes = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=DAY_MINUTES),
        metadata={
            "description": "Minutes the volunteer actually served, travel excluded; "
            "at most the time the ticket was open, and 1440."
        },
    )


@EVENTS.define("ticket.resolved")
class TicketResolved(TicketRef):
    """Published when the team finishes the work; each volunteer's minutes are what the hour ledger credits
    (pending until the resident confirms)."""

    team_id = fields.String(required=True, metadata={"description": "Id (UUID) of the team that did the work."})
    resolved_at = _instant("When the ticket was resolved")
    volunteers = fields.List(
        fields.Nested(VolunteerMinutes),
        required=True,
        metadata={"description": "Each volunteer who served, with their minutes, sorted by volunteer id."},
    )


@EVENTS.define("ticket.resolved_by_partner")
class TicketResolvedByPartner(TicketRef):
    """Published when a partner organisation finishes a ticket's work: its own paid work earns no volunteer hours,
    the volunteers named on it earn theirs (pending until the resident confirms), as with ticket.resolved."""

    partner_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the partner organisation that did the work."}
    )
    resolved_at = _instant("When the ticket was resolved")
    volunteers = fields.List(
        fields.Nested(VolunteerMinutes),
        required=True,
        metadata={
            "description": "Each named volunteer who served, with their minutes, sorted by volunteer id; may be empty."
        },
    )


@EVENTS.define("ticket.confirmed")
class TicketConfirmed(TicketRef):
    """Published when the resident confirms the work, or the confirmation window passes without a reopening."""

    rating = fields.Integer(
        required=True,
        allow_none=True,
        strict=True,
        validate=validate.Range(1, 5),
        metadata={"description": "The resident's satisfaction, 1 to 5; null when confirmed automatically."},
    )
    automatic = fields.Boolean(
        required=True,
        metadata={
            "description": "True when the confirmation window passed and the service confirmed the ticket itself."
        },
    )


@EVENTS.define("ticket.escalated")
class TicketEscalated(TicketRef):
    """Published when the ticket goes to a professional social worker: by hand, or when an SLA deadline passes."""

    reason = fields.String(
        required=True,
        validate=validate.OneOf(ESCALATION_REASONS),
        metadata={"description": "Why: overdue_assign or overdue_resolve (an SLA deadline passed), dispute or manual."},
    )
    social_worker_id = fields.String(
        allow_none=True,
        metadata={
            "description": "Id (UUID) of the certified social worker named for it (a volunteer of the community's "
            "1+1+1+N unit or agency); null when none could be named yet."
        },
    )


@EVENTS.define("ticket.reopened")
class TicketReopened(TicketRef):
    """Published when the resident (or an operator for them) reopens a resolved ticket within the reopening
    window; the ticket goes back to the team."""


@EVENTS.define("ticket.cancelled")
class TicketCancelled(TicketRef):
    """Published when the ticket is withdrawn before it is closed; nobody is credited time for it."""


# -- residents' voice ---------------------------------------------------------------
class SuggestionRef(Schema):
    suggestion_id = fields.String(required=True, metadata={"description": "Suggestion id (UUID)."})
    community_id = fields.String(required=True, metadata={"description": "Id (UUID) of the community it concerns."})
    topic = fields.String(required=True, metadata={"description": "Topic code, e.g. parking, environment."})


@EVENTS.define("suggestion.collected")
class SuggestionCollected(SuggestionRef):
    """Published when a resident's suggestion (益邻·心声) is written down, door to door or online."""

    channel = fields.String(required=True, metadata={"description": "door_to_door or online."})
    answer_due_at = _instant("When the resident must have an answer by")


@EVENTS.define("suggestion.merged")
class SuggestionMerged(SuggestionRef):
    """Published when a repeat is merged into an earlier suggestion; its residents move with it."""

    into_id = fields.String(required=True, metadata={"description": "Id (UUID) of the suggestion it joined."})
    residents = fields.Integer(
        required=True, metadata={"description": "Residents who have now raised the point (the merged-into count)."}
    )


@EVENTS.define("suggestion.answered")
class SuggestionAnswered(SuggestionRef):
    """Published when the resident gets an answer back."""

    on_time = fields.Boolean(required=True, metadata={"description": "True when answered by the deadline."})


@EVENTS.define("suggestion.escalated")
class SuggestionEscalated(SuggestionRef):
    """Published when a suggestion passes its answer deadline unanswered."""

    answer_due_at = _instant("The deadline that passed")


@EVENTS.define("suggestion.linked")
class SuggestionLinked(SuggestionRef):
    """Published when a suggestion is acted on: it turned into a ticket, a fund disbursement request or an activity."""

    kind = fields.String(
        required=True,
        validate=validate.OneOf(("ticket", "fund_disbursement", "activity")),
        metadata={"description": "ticket, fund_disbursement or activity."},
    )
    target_id = fields.String(required=True, metadata={"description": "Id (UUID) of the ticket, request or activity."})


class CaseRef(Schema):
    case_id = fields.String(required=True, metadata={"description": "Mediation case id (UUID)."})
    community_id = fields.String(required=True, metadata={"description": "Id (UUID) of the community."})
    street_id = fields.String(
        allow_none=True, metadata={"description": "Id (UUID) of the community's street or town; null if unknown."}
    )


@EVENTS.define("mediation.opened")
class MediationOpened(CaseRef):
    """Published when a social worker opens a dispute mediation case."""

    parties = fields.Integer(required=True, metadata={"description": "Number of parties to the dispute."})
    people = fields.Integer(required=True, metadata={"description": "Residents the parties speak for."})


@EVENTS.define("mediation.closed")
class MediationClosed(CaseRef):
    """Published when a mediation case closes with its outcome and the parties' satisfaction."""

    outcome = fields.String(
        required=True,
        validate=validate.OneOf(("agreement", "referral", "withdrawn")),
        metadata={"description": "agreement, referral or withdrawn."},
    )
    satisfaction_rate = fields.Float(
        allow_none=True,
        metadata={"description": "Share of the people on rated parties who were satisfied (0 to 1); null if none."},
    )
