"""Routes of the community fund: enterprises, profit reports, disbursements, the ledger
and the public transparency report. Amounts in requests are yuan strings with at most
two decimals; responses carry integer fen (``…_fen``) beside them."""

from __future__ import annotations

from werkzeug.wrappers import Response

from services.fund.permissions import (
    APPROVERS,
    DECIDERS,
    LEDGER_READERS,
    PAYERS,
    READERS,
    REPORTERS,
    REQUESTERS,
    WRITERS,
)
from services.fund.schemas import (
    AmendmentIn,
    ApprovalIn,
    DecisionIn,
    DisbursementIn,
    DisbursementOut,
    DisbursementQuery,
    EnterpriseIn,
    EnterpriseOut,
    EnterpriseQuery,
    PaymentIn,
    PoolOut,
    ProfitReportIn,
    ProfitReportOut,
    ProfitReportQuery,
    TransferOut,
    TransferQuery,
    TransparencyOut,
    TransparencyQuery,
    TrialBalanceOut,
)
from services.gateway.routing import Call, api, forwarding
from yilin.paging import page_schema

TAG = "fund"


forward = forwarding("fund", TAG)

forward(
    "POST",
    "/fund/enterprises",
    "register_enterprise",
    summary="Register a community social enterprise",
    body=EnterpriseIn,
    response=EnterpriseOut,
    status=201,
    roles=WRITERS,
)

forward(
    "GET",
    "/fund/enterprises",
    "list_enterprises",
    summary="List enterprises",
    query=EnterpriseQuery,
    response=page_schema(EnterpriseOut),
    roles=READERS,
)

forward(
    "GET",
    "/fund/enterprises/<enterprise_id>",
    "get_enterprise",
    summary="Get an enterprise",
    response=EnterpriseOut,
    roles=READERS,
)

forward(
    "POST",
    "/fund/profit-reports",
    "report_profit",
    summary="Report an enterprise's annual net profit",
    body=ProfitReportIn,
    response=ProfitReportOut,
    status=201,
    roles=REPORTERS,
)

forward(
    "POST",
    "/fund/profit-reports/<report_id>/amendments",
    "amend_profit",
    summary="Amend a profit report (a new version)",
    body=AmendmentIn,
    response=ProfitReportOut,
    status=201,
    roles=REPORTERS,
)

forward(
    "GET",
    "/fund/profit-reports",
    "list_profit_reports",
    summary="List profit reports",
    query=ProfitReportQuery,
    response=page_schema(ProfitReportOut),
    roles=READERS,
)

forward(
    "GET",
    "/fund/profit-reports/<report_id>",
    "get_profit_report",
    summary="Get a profit report",
    response=ProfitReportOut,
    roles=READERS,
)

forward(
    "POST",
    "/fund/disbursements",
    "request_disbursement",
    summary="Request a disbursement from a community's pool",
    body=DisbursementIn,
    response=DisbursementOut,
    status=201,
    roles=REQUESTERS,
)

forward(
    "GET",
    "/fund/disbursements",
    "list_disbursements",
    summary="List disbursement requests",
    query=DisbursementQuery,
    response=page_schema(DisbursementOut),
    roles=READERS,
)

forward(
    "GET",
    "/fund/disbursements/<disbursement_id>",
    "get_disbursement",
    summary="Get a disbursement request",
    response=DisbursementOut,
    roles=READERS,
)

forward(
    "POST",
    "/fund/disbursements/<disbursement_id>/approvals",
    "approve_disbursement",
    summary="Approve a disbursement request",
    body=ApprovalIn,
    response=DisbursementOut,
    roles=APPROVERS,
)

forward(
    "POST",
    "/fund/disbursements/<disbursement_id>/rejection",
    "reject_disbursement",
    summary="Reject a disbursement request",
    body=DecisionIn,
    response=DisbursementOut,
    roles=DECIDERS,
)

forward(
    "POST",
    "/fund/disbursements/<disbursement_id>/cancellation",
    "cancel_disbursement",
    summary="Cancel a disbursement request",
    body=DecisionIn,
    response=DisbursementOut,
    roles=REQUESTERS,
)

forward(
    "POST",
    "/fund/disbursements/<disbursement_id>/payment",
    "pay_disbursement",
    summary="Pay an approved disbursement",
    body=PaymentIn,
    response=DisbursementOut,
    roles=PAYERS,
)

forward(
    "GET",
    "/fund/pools/<community_id>",
    "get_pool",
    summary="A community pool's balance",
    response=PoolOut,
    roles=None,
    public=True,
)

forward(
    "GET",
    "/fund/ledger/transfers",
    "list_transfers",
    summary="List ledger transfers",
    query=TransferQuery,
    response=page_schema(TransferOut),
    roles=LEDGER_READERS,
)

forward(
    "GET",
    "/fund/ledger/trial-balance",
    "trial_balance",
    summary="Debits, credits and account balances",
    response=TrialBalanceOut,
    roles=LEDGER_READERS,
)


@api(
    "GET",
    "/fund/communities/<community_id>/transparency",
    summary="A community pool's transparency report",
    tag=TAG,
    query=TransparencyQuery,
    response=TransparencyOut,
    media_types=("text/csv",),
    roles=None,
    public=True,
)
def transparency_report(call: Call) -> dict | Response:
    if call.query.get("format") == "csv":
        text = call.rpc("fund").transparency_csv(call.path["community_id"], call.query)
        year = call.query.get("year")
        return Response(
            text,
            status=200,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="fund-{call.path["community_id"]}-{year}.csv"'},
        )
    return call.rpc("fund").transparency_report(call.path["community_id"], call.query)
