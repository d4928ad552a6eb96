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
from services.gateway.routing import Call, api
from yilin.paging import page_schema

TAG = "fund"


@api(
    "POST",
    "/fund/enterprises",
    summary="Register a community social enterprise",
    tag=TAG,
    body=EnterpriseIn,
    response=EnterpriseOut,
    status=201,
    roles=WRITERS,
)
def register_enterprise(call: Call) -> dict:
    return call.rpc("fund").register_enterprise(call.body)


@api(
    "GET",
    "/fund/enterprises",
    summary="List enterprises",
    tag=TAG,
    query=EnterpriseQuery,
    response=page_schema(EnterpriseOut),
    roles=READERS,
)
def list_enterprises(call: Call) -> dict:
    return call.rpc("fund").list_enterprises(call.query)


@api(
    "GET",
    "/fund/enterprises/<enterprise_id>",
    summary="Get an enterprise",
    tag=TAG,
    response=EnterpriseOut,
    roles=READERS,
)
def get_enterprise(call: Call) -> dict:
    return call.rpc("fund").get_enterprise(call.path["enterprise_id"])


@api(
    "POST",
    "/fund/profit-reports",
    summary="Report an enterprise's annual net profit",
    tag=TAG,
    body=ProfitReportIn,
    response=ProfitReportOut,
    status=201,
    roles=REPORTERS,
)
def report_profit(call: Call) -> dict:
    return call.rpc("fund").report_profit(call.body)


@api(
    "POST",
    "/fund/profit-reports/<report_id>/amendments",
    summary="Amend a profit report (a new version)",
    tag=TAG,
    body=AmendmentIn,
    response=ProfitReportOut,
    status=201,
    roles=REPORTERS,
)
def amend_profit(call: Call) -> dict:
    return call.rpc("fund").amend_profit(call.path["report_id"], call.body)


@api(
    "GET",
    "/fund/profit-reports",
    summary="List profit reports",
    tag=TAG,
    query=ProfitReportQuery,
    response=page_schema(ProfitReportOut),
    roles=READERS,
)
def list_profit_reports(call: Call) -> dict:
    return call.rpc("fund").list_profit_reports(call.query)


@api(
    "GET",
    "/fund/profit-reports/<report_id>",
    summary="Get a profit report",
    tag=TAG,
    response=ProfitReportOut,
    roles=READERS,
)
def get_profit_report(call: Call) -> dict:
    return call.rpc("fund").get_profit_report(call.path["report_id"])


@api(
    "POST",
    "/fund/disbursements",
    summary="Request a disbursement from a community's pool",
    tag=TAG,
    body=DisbursementIn,
    response=DisbursementOut,
    status=201,
    roles=REQUESTERS,
)
def request_disbursement(call: Call) -> dict:
    return call.rpc("fund").request_disbursement(call.body)


@api(
    "GET",
    "/fund/disbursements",
    summary="List disbursement requests",
    tag=TAG,
    query=DisbursementQuery,
    response=page_schema(DisbursementOut),
    roles=READERS,
)
def list_disbursements(call: Call) -> dict:
    return call.rpc("fund").list_disbursements(call.query)


@api(
    "GET",
    "/fund/disbursements/<disbursement_id>",
    summary="Get a disbursement request",
    tag=TAG,
    response=DisbursementOut,
    roles=READERS,
)
def get_disbursement(call: Call) -> dict:
    return call.rpc("fund").get_disbursement(call.path["disbursement_id"])


@api(
    "POST",
    "/fund/disbursements/<disbursement_id>/approvals",
    summary="Approve a disbursement request",
    tag=TAG,
    body=ApprovalIn,
    response=DisbursementOut,
    roles=APPROVERS,
)
def approve_disbursement(call: Call) -> dict:
    return call.rpc("fund").approve_disbursement(call.path["disbursement_id"], call.body)


@api(
    "POST",
    "/fund/disbursements/<disbursement_id>/rejection",
    summary="Reject a disbursement request",
    tag=TAG,
    body=DecisionIn,
    response=DisbursementOut,
    roles=DECIDERS,
)
def reject_disbursement(call: Call) -> dict:
    return call.rpc("fund").reject_disbursement(call.path["disbursement_id"], call.body)


@api(
    "POST",
    "/fund/disbursements/<disbursement_id>/cancellation",
    summary="Cancel a disbursement request",
    tag=TAG,
    body=DecisionIn,
    response=DisbursementOut,
    roles=REQUESTERS,
)
def cancel_disbursement(call: Call) -> dict:
    return call.rpc("fund").cancel_disbursement(call.path["disbursement_id"], call.body)


@api(
    "POST",
    "/fund/disbursements/<disbursement_id>/payment",
    summary="Pay an approved disbursement",
    tag=TAG,
    body=PaymentIn,
    response=DisbursementOut,
    roles=PAYERS,
)
def pay_disbursement(call: Call) -> dict:
    return call.rpc("fund").pay_disbursement(call.path["disbursement_id"], call.body)


@api(
    "GET",
    "/fund/pools/<community_id>",
    summary="A community pool's balance",
    tag=TAG,
    response=PoolOut,
    roles=None,
    public=True,
)
def get_pool(call: Call) -> dict:
    return call.rpc("fund").get_pool(call.path["community_id"])


@api(
    "GET",
    "/fund/ledger/transfers",
    summary="List ledger transfers",
    tag=TAG,
    query=TransferQuery,
    response=page_schema(TransferOut),
    roles=LEDGER_READERS,
)
def list_transfers(call: Call) -> dict:
    return call.rpc("fund").list_transfers(call.query)


@api(
    "GET",
    "/fund/ledger/trial-balance",
    summary="Debits, credits and account balances",
    tag=TAG,
    response=TrialBalanceOut,
    roles=LEDGER_READERS,
)
def trial_balance(call: Call) -> dict:
    return call.rpc("fund").trial_balance()


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
