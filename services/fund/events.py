"""Events the fund publishes on ``fund.events``: ids, codes and integer fen only."""

from marshmallow import Schema, fields

from yilin.events import EventCatalogue

EVENTS = EventCatalogue("fund")


def _fen(description: str) -> fields.Integer:
    return fields.Integer(required=True, metadata={"description": description + " (integer fen)."})


@EVENTS.define("enterprise.registered")
class EnterpriseRegistered(Schema):
    """A community social enterprise joined the fund."""

    enterprise_id = fields.String(required=True)
    code = fields.String(required=True)
    community_id = fields.String(required=True)
    owner_organisation_id = fields.String(required=True)
    organisation_id = fields.String(required=True, allow_none=True)
    contribution_rate_bp = fields.Integer(required=True, metadata={"description": "Basis points (1000 = 10%)."})


@EVENTS.define("profit.reported")
class ProfitReported(Schema):
    """An annual profit report or an amendment (version ≥ 2) was filed."""

    report_id = fields.String(required=True)
    enterprise_id = fields.String(required=True)
    community_id = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    version = fields.Integer(required=True)
    net_profit_fen = _fen("Net profit, negative for a loss")
    audited = fields.Boolean(required=True)
    contribution_fen = _fen("What the profit owes in all")
    adjustment_fen = _fen("What this version moved, signed")


@EVENTS.define("contribution.recorded")
class ContributionRecorded(Schema):
    """A contribution (or, for a downward amendment, its partial reversal) was posted to
    the community's pool."""

    transfer_id = fields.String(required=True)
    report_id = fields.String(required=True)
    enterprise_id = fields.String(required=True)
    community_id = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    amount_fen = _fen("Into the pool; negative when an amendment lowered the contribution")
    rate_bp = fields.Integer(required=True)
    pool_balance_fen = _fen("The pool's balance after the posting")


@EVENTS.define("disbursement.requested")
class DisbursementRequested(Schema):
    """Someone asked to spend from a community's pool."""

    disbursement_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    amount_fen = _fen("Amount requested")
    ticket_id = fields.String(required=True, allow_none=True)


@EVENTS.define("disbursement.approved")
class DisbursementApproved(Schema):
    """A committee member approved; ``status`` becomes approved at the second approval."""

    disbursement_id = fields.String(required=True)
    community_id = fields.String(required=True)
    approvals = fields.Integer(required=True)
    approvals_needed = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "requested or approved."})


@EVENTS.define("disbursement.rejected")
class DisbursementRejected(Schema):
    """The committee turned a request down."""

    disbursement_id = fields.String(required=True)
    community_id = fields.String(required=True)
    amount_fen = _fen("Amount requested")


@EVENTS.define("disbursement.paid")
class DisbursementPaid(Schema):
    """An approved request was paid from the pool."""

    disbursement_id = fields.String(required=True)
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    amount_fen = _fen("Amount paid")
    transfer_id = fields.String(required=True)
    pool_balance_fen = _fen("The pool's balance after the payment")
