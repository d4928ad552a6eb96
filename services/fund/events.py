"""Events the fund publishes on ``fund.events``: ids, codes and integer fen only
(100 fen = 1 yuan; amounts never travel as floats)."""

from marshmallow import Schema, fields

from yilin.events import EventCatalogue

EVENTS = EventCatalogue("fund")

COMMUNITY = {"description": "Id (UUID) of the community whose pool this concerns."}
DISBURSEMENT = {"description": "Disbursement request id (UUID)."}
ENTERPRISE = {"description": "Social enterprise id (UUID)."}
CATEGORY = {
    "description": "What the money is for: courtyard_renovation, hardware_repair, garbage_sorting, "
    "new_community_space or other."
}


def _fen(description: str) -> fields.Integer:
    return fields.Integer(required=True, metadata={"description": description + " (integer fen)."})


@EVENTS.define("enterprise.registered")
class EnterpriseRegistered(Schema):
    """Published when a community social enterprise joins the fund and starts owing a share of its profit."""

    enterprise_id = fields.String(required=True, metadata=ENTERPRISE)
    code = fields.String(
        required=True, metadata={"description": "The enterprise's short code, unique.", "example": "NIGHT-MARKET-1"}
    )
    community_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the community whose pool its contributions go to."}
    )
    owner_organisation_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the owning organisation, e.g. the residents' committee."}
    )
    organisation_id = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Id (UUID) of the enterprise's own organisation in the registry; null if it has none."
        },
    )
    contribution_rate_bp = fields.Integer(
        required=True,
        metadata={"description": "Share of annual net profit owed to the pool, in basis points (1000 = 10%)."},
    )


@EVENTS.define("profit.reported")
class ProfitReported(Schema):
    """Published when an enterprise files its annual profit report, or an amendment of it (version ≥ 2)."""

    report_id = fields.String(required=True, metadata={"description": "Id (UUID) of this report version."})
    enterprise_id = fields.String(required=True, metadata=ENTERPRISE)
    community_id = fields.String(required=True, metadata=COMMUNITY)
    fiscal_year = fields.Integer(
        required=True, metadata={"description": "The fiscal (calendar) year reported on.", "example": 2025}
    )
    version = fields.Integer(required=True, metadata={"description": "1 for the report, 2 and up for amendments."})
    net_profit_fen = _fen("Net profit for the year, negative for a loss")
    audited = fields.Boolean(required=True, metadata={"description": "True when the figures are audited."})
    contribution_fen = _fen("What the year's profit owes the pool in all, as of this version")
    adjustment_fen = _fen("What this version changed the contribution by, signed (the first report: all of it)")


@EVENTS.define("contribution.recorded")
class ContributionRecorded(Schema):
    """Published when a contribution is posted to the community's pool (for a downward amendment, its partial
    reversal)."""

    transfer_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the ledger transfer, the client's idempotency key."}
    )
    report_id = fields.String(required=True, metadata={"description": "Id (UUID) of the report version posted."})
    enterprise_id = fields.String(required=True, metadata=ENTERPRISE)
    community_id = fields.String(required=True, metadata=COMMUNITY)
    fiscal_year = fields.Integer(
        required=True, metadata={"description": "The fiscal year the profit was made in.", "example": 2025}
    )
    amount_fen = _fen("Into the pool; negative when an amendment lowered the contribution")
    rate_bp = fields.Integer(
        required=True, metadata={"description": "The contribution rate applied, in basis points (1000 = 10%)."}
    )
    pool_balance_fen = _fen("The pool's balance after the posting")


@EVENTS.define("disbursement.requested")
class DisbursementRequested(Schema):
    """Published when someone asks to spend from a community's pool; it waits for the committee."""

    disbursement_id = fields.String(required=True, metadata=DISBURSEMENT)
    community_id = fields.String(required=True, metadata=COMMUNITY)
    category = fields.String(required=True, metadata=CATEGORY)
    amount_fen = _fen("Amount requested")
    ticket_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Id (UUID) of the resident ticket the spending answers; null if none."},
    )
    suggestion_id = fields.String(
        allow_none=True,
        metadata={
            "description": "Id (UUID) of the residents' suggestion (益邻·心声) it answers; null or absent if none."
        },
    )


@EVENTS.define("disbursement.approved")
class DisbursementApproved(Schema):
    """Published on each committee member's approval; ``status`` becomes approved at the last approval needed."""

    disbursement_id = fields.String(required=True, metadata=DISBURSEMENT)
    community_id = fields.String(required=True, metadata=COMMUNITY)
    approvals = fields.Integer(required=True, metadata={"description": "Approvals so far, this one included."})
    approvals_needed = fields.Integer(
        required=True, metadata={"description": "Approvals by different members needed before payment."}
    )
    status = fields.String(
        required=True, metadata={"description": "The request's status after this approval: requested or approved."}
    )


@EVENTS.define("disbursement.rejected")
class DisbursementRejected(Schema):
    """Published when the committee turns a request down; nothing is paid."""

    disbursement_id = fields.String(required=True, metadata=DISBURSEMENT)
    community_id = fields.String(required=True, metadata=COMMUNITY)
    amount_fen = _fen("Amount that had been requested")


@EVENTS.define("disbursement.paid")
class DisbursementPaid(Schema):
    """Published when an approved request is paid from the community's pool."""

    disbursement_id = fields.String(required=True, metadata=DISBURSEMENT)
    community_id = fields.String(required=True, metadata=COMMUNITY)
    category = fields.String(required=True, metadata=CATEGORY)
    amount_fen = _fen("Amount paid")
    transfer_id = fields.String(
        required=True, metadata={"description": "Id (UUID) of the ledger transfer, the client's idempotency key."}
    )
    pool_balance_fen = _fen("The pool's balance after the payment")
