"""Every fund payload, defined once.

Money convention: a field without suffix (``net_profit``, ``amount``) is yuan as a
string with at most two decimals (``"1234567.89"``); a field ending in ``_fen`` is an
integer number of fen (1 yuan = 100 fen). Requests take the yuan strings, JSON numbers
are refused; responses and events carry integer fen (responses add the yuan string).
Rates are integer basis points (1000 = 10%)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from services.fund.rules import YUAN_HELP, YUAN_PATTERN, fen_from_yuan, yuan
from yilin.fields import StrictBoolean
from yilin.paging import PageQuery

CATEGORIES = ("courtyard_renovation", "hardware_repair", "garbage_sorting", "new_community_space", "other")
DISBURSEMENT_STATUSES = ("requested", "approved", "paid", "rejected", "cancelled")
APPROVALS_NEEDED = 2
DEFAULT_RATE_BP = 1000
CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$", error="letters, digits, '_', '.', '-'; at most 40")
YEAR = validate.Range(2000, 2100, error="a fiscal year between 2000 and 2100")
TRANSFER_ID = {
    "description": "Client-supplied id (UUID) of this ledger transfer. Retrying with the same id and "
    "body returns the first result; the same id with a different body is refused (409)."
}


class Yuan(fields.String):
    """A yuan amount on the wire (``"1234567.89"``), integer fen in Python."""

    def __init__(self, *, positive: bool = False, **kwargs: Any) -> None:
        self.positive = positive
        metadata = {
            "description": YUAN_HELP,
            "pattern": YUAN_PATTERN.pattern,
            "example": "1234567.89",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            fen = fen_from_yuan(value)
        except ValueError:
            raise ValidationError(f"must be {YUAN_HELP}") from None
        if self.positive and fen <= 0:
            raise ValidationError("must be more than zero")
        return fen

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else yuan(int(value))


def fen(description: str) -> fields.Integer:
    return fields.Integer(required=True, metadata={"description": description + " (integer fen)."})


# -- enterprises --------------------------------------------------------------------
class EnterpriseIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    community_id = fields.UUID(
        required=True,
        metadata={
            "description": "The community (registry place of level community) whose pool it pays into; checked with "
            "the registry."
        },
    )
    owner_organisation_id = fields.UUID(
        required=True,
        metadata={"description": "The owning organisation, e.g. the residents' committee (registry organisation id)."},
    )
    organisation_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "The enterprise's own registry organisation id, if it has one."},
    )
    contribution_rate_bp = fields.Integer(
        load_default=DEFAULT_RATE_BP,
        strict=True,
        validate=validate.Range(0, 10000, error="a rate in basis points between 0 and 10000 (1000 = 10%)"),
        metadata={"description": "Share of net profit paid into the pool, in basis points (1000 = 10%)."},
    )


class EnterpriseOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    community_id = fields.String(required=True)
    owner_organisation_id = fields.String(required=True)
    organisation_id = fields.String(allow_none=True)
    contribution_rate_bp = fields.Integer(required=True)
    contributed_fen = fields.Integer(metadata={"description": "Contributions recorded in all (integer fen)."})


class EnterpriseQuery(PageQuery):
    community_id = fields.UUID()
    owner_organisation_id = fields.UUID()


# -- profit reports -----------------------------------------------------------------
class ProfitReportIn(Schema):
    enterprise_id = fields.UUID(required=True)
    fiscal_year = fields.Integer(required=True, strict=True, validate=YEAR)
    net_profit_fen = Yuan(
        required=True,
        data_key="net_profit",
        metadata={
            "description": "Annual net profit in yuan (negative for a loss), as a string "
            'with at most two decimals, e.g. "1234567.89".'
        },
    )
    currency = fields.String(load_default="CNY", validate=validate.OneOf(["CNY"]))
    audited = StrictBoolean(load_default=False)
    document_ref = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 200),
        metadata={"description": "Reference of the filed accounts, e.g. an archive number."},
    )
    transfer_id = fields.UUID(required=True, metadata=TRANSFER_ID)


class AmendmentIn(Schema):
    net_profit_fen = Yuan(
        required=True,
        data_key="net_profit",
        metadata={"description": 'The corrected net profit in yuan, e.g. "1200000.00".'},
    )
    audited = StrictBoolean(load_default=False)
    document_ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 200))
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    transfer_id = fields.UUID(required=True, metadata=TRANSFER_ID)


class ProfitReportOut(Schema):
    id = fields.String(required=True)
    enterprise_id = fields.String(required=True)
    community_id = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"description": "1 for the report, 2… for amendments."})
    net_profit_fen = fen("Net profit, negative for a loss")
    net_profit = Yuan(attribute="net_profit_fen", dump_only=True)
    currency = fields.String(required=True)
    audited = fields.Boolean(required=True)
    document_ref = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    rate_bp = fields.Integer(required=True, metadata={"description": "Rate applied, basis points."})
    contribution_fen = fen("What this version's profit owes in all: rate × profit, rounded half up; 0 on a loss")
    contribution = Yuan(attribute="contribution_fen", dump_only=True)
    adjustment_fen = fen("What this version moved into (or, if negative, back out of) the pool")
    transfer_id = fields.String(allow_none=True, metadata={"description": "The ledger transfer, if money moved."})
    created_at = fields.DateTime(required=True)


class ProfitReportQuery(PageQuery):
    enterprise_id = fields.UUID()
    fiscal_year = fields.Integer(validate=YEAR)


# -- disbursements ------------------------------------------------------------------
class DisbursementIn(Schema):
    community_id = fields.UUID(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    amount_fen = Yuan(
        required=True,
        positive=True,
        data_key="amount",
        metadata={"description": 'Amount in yuan, more than zero, e.g. "3500.00".'},
    )
    purpose = fields.String(
        required=True,
        validate=validate.Length(1, 500),
        metadata={"description": "What the money is for; published in the transparency report, so no personal data."},
    )
    ticket_id = fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "The resident ticket it answers."}
    )
    suggestion_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "The residents' suggestion (益邻·心声) it answers; checked with the tickets service."},
    )


class ApprovalIn(Schema):
    member = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 80),
        metadata={
            "description": "Leave it out: a committee member approves as themself (their token's subject); "
            "naming anyone else is refused."
        },
    )


class DecisionIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class PaymentIn(Schema):
    transfer_id = fields.UUID(required=True, metadata=TRANSFER_ID)


class DisbursementOut(Schema):
    id = fields.String(required=True)
    community_id = fields.String(required=True)
    category = fields.String(required=True)
    amount_fen = fen("Amount")
    amount = Yuan(attribute="amount_fen", dump_only=True)
    purpose = fields.String(required=True)
    ticket_id = fields.String(allow_none=True)
    suggestion_id = fields.String(allow_none=True, metadata={"description": "The suggestion it answers, if any."})
    requested_by = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "requested, approved, paid, rejected or cancelled."})
    approvals = fields.List(fields.String(), required=True, metadata={"description": "Subjects who approved."})
    approvals_needed = fields.Integer(required=True)
    decision_reason = fields.String(allow_none=True)
    transfer_id = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    paid_at = fields.DateTime(allow_none=True)


class DisbursementQuery(PageQuery):
    community_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(DISBURSEMENT_STATUSES))
    category = fields.String(validate=validate.OneOf(CATEGORIES))


# -- ledger -------------------------------------------------------------------------
class PoolOut(Schema):
    community_id = fields.String(required=True)
    balance_fen = fen("Balance of the community's pool")
    balance = Yuan(attribute="balance_fen", dump_only=True)


class TransferOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(
        required=True, metadata={"description": "contribution, contribution_reversal or disbursement."}
    )
    debit_account = fields.String(required=True, metadata={"description": "Code of the account debited."})
    credit_account = fields.String(required=True, metadata={"description": "Code of the account credited."})
    amount_fen = fen("Amount")
    community_id = fields.String(required=True)
    reference_id = fields.String(required=True, metadata={"description": "The profit report or disbursement."})
    posted_at = fields.DateTime(required=True)


class TransferQuery(PageQuery):
    community_id = fields.UUID()


class AccountOut(Schema):
    code = fields.String(
        required=True, metadata={"description": "pool:<community>, enterprise:<id> or expense:<community>:<category>."}
    )
    kind = fields.String(required=True)
    balance_fen = fen("Debits minus credits")


class TrialBalanceOut(Schema):
    debits_fen = fen("Sum of every debit entry")
    credits_fen = fen("Sum of every credit entry")
    balanced = fields.Boolean(required=True)
    accounts = fields.List(fields.Nested(AccountOut), required=True)


# -- transparency -------------------------------------------------------------------
class TransparencyQuery(Schema):
    year = fields.Integer(
        required=True,
        validate=YEAR,
        metadata={"description": "Calendar year of postings, China Standard Time (UTC+8)."},
    )
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class ContributionLine(Schema):
    enterprise_id = fields.String(required=True)
    enterprise_code = fields.String(required=True)
    enterprise_name = fields.String(required=True)
    fiscal_years = fields.List(fields.Integer(), required=True)
    amount_fen = fen("Net contributions posted in the year (reversals subtracted)")


class CategoryLine(Schema):
    category = fields.String(required=True)
    count = fields.Integer(required=True)
    amount_fen = fen("Paid in the year")


class DisbursementLine(Schema):
    disbursement_id = fields.String(required=True)
    category = fields.String(required=True)
    purpose = fields.String(required=True)
    ticket_id = fields.String(allow_none=True)
    amount_fen = fen("Paid")
    paid_at = fields.DateTime(required=True)


class TransparencyOut(Schema):
    community_id = fields.String(required=True)
    year = fields.Integer(required=True)
    currency = fields.String(required=True)
    opening_balance_fen = fen("Pool balance at the start of the year")
    contributions_fen = fen("Net contributions posted in the year")
    disbursements_fen = fen("Payments in the year")
    closing_balance_fen = fen("Pool balance at the end of the year (= opening + contributions − disbursements)")
    contributions = fields.List(fields.Nested(ContributionLine), required=True)
    disbursements_by_category = fields.List(fields.Nested(CategoryLine), required=True)
    disbursements = fields.List(fields.Nested(DisbursementLine), required=True)
    reconciled = fields.Boolean(
        required=True, metadata={"description": "The figures above equal the pool's ledger entries to the fen."}
    )
