"""Routes for residents' voice: suggestions (益邻·心声) with their answers and links,
mediation cases, the reports by topic, dispute and beneficiary group, and the
district's indicators."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.fund.permissions import REQUESTERS
from services.fund.schemas import DisbursementIn, DisbursementOut
from services.gateway.indicators import IndicatorsOut, gather
from services.gateway.routing import Call, api
from services.indicators import PeriodQuery
from services.tickets.permissions import (
    CASE_READERS,
    MEDIATORS,
    SUGGESTION_COLLECTORS,
    SUGGESTION_HANDLERS,
    SUGGESTION_READERS,
    VOICE_REPORT_READERS,
)
from services.tickets.voice_schemas import (
    AnswerIn,
    CaseIn,
    CaseOut,
    CloseIn,
    DisputeReportOut,
    DisputeReportQuery,
    GroupReportOut,
    LinkIn,
    MergeIn,
    SessionIn,
    SuggestionIn,
    SuggestionOut,
    SuggestionQuery,
    SuggestionReportOut,
    VoiceReportQuery,
)
from yilin.paging import page_schema

# Who turns a suggestion into a fund request: a handler of suggestions who may also request.
FUND_ACTORS = tuple(role for role in SUGGESTION_HANDLERS if role in REQUESTERS)


class SuggestionFundIn(DisbursementIn):
    """A fund disbursement request answering the suggestion: its community is the suggestion's."""

    class Meta:
        exclude = ("community_id", "ticket_id", "suggestion_id")


class SuggestionFundOut(Schema):
    suggestion = fields.Nested(SuggestionOut, required=True)
    disbursement = fields.Nested(DisbursementOut, required=True)


# -- suggestions --------------------------------------------------------------------
@api(
    "POST",
    "/suggestions",
    summary="Collect a suggestion (door to door, or a resident's own online)",
    tag="voice",
    body=SuggestionIn,
    response=SuggestionOut,
    status=201,
    roles=SUGGESTION_COLLECTORS,
)
def collect_suggestion(call: Call) -> dict:
    return call.rpc("tickets").collect_suggestion(call.body)


@api(
    "GET",
    "/suggestions",
    summary="List suggestions",
    tag="voice",
    query=SuggestionQuery,
    response=page_schema(SuggestionOut),
    roles=SUGGESTION_READERS,
)
def list_suggestions(call: Call) -> dict:
    return call.rpc("tickets").list_suggestions(call.query)


@api(
    "GET",
    "/suggestions/report",
    summary="Suggestions by community, topic and month",
    tag="voice",
    query=VoiceReportQuery,
    response=SuggestionReportOut,
    roles=VOICE_REPORT_READERS,
)
def suggestion_report(call: Call) -> dict:
    return {"items": call.rpc("tickets").suggestion_report(call.query)}


@api(
    "GET",
    "/suggestions/<suggestion_id>",
    summary="Get a suggestion with its residents and what it turned into",
    tag="voice",
    response=SuggestionOut,
    roles=SUGGESTION_READERS,
)
def get_suggestion(call: Call) -> dict:
    return call.rpc("tickets").get_suggestion(call.path["suggestion_id"])


@api(
    "POST",
    "/suggestions/<suggestion_id>/merge",
    summary="Merge a repeated suggestion into an earlier one",
    tag="voice",
    body=MergeIn,
    response=SuggestionOut,
    roles=SUGGESTION_HANDLERS,
)
def merge_suggestion(call: Call) -> dict:
    return call.rpc("tickets").merge_suggestion(call.path["suggestion_id"], call.body)


@api(
    "POST",
    "/suggestions/<suggestion_id>/answer",
    summary="Answer the residents who raised a suggestion",
    tag="voice",
    body=AnswerIn,
    response=SuggestionOut,
    roles=SUGGESTION_HANDLERS,
)
def answer_suggestion(call: Call) -> dict:
    return call.rpc("tickets").answer_suggestion(call.path["suggestion_id"], call.body)


@api(
    "POST",
    "/suggestions/<suggestion_id>/links",
    summary="Record the ticket, fund request or activity a suggestion turned into",
    tag="voice",
    body=LinkIn,
    response=SuggestionOut,
    roles=SUGGESTION_HANDLERS,
)
def link_suggestion(call: Call) -> dict:
    return call.rpc("tickets").link_suggestion(call.path["suggestion_id"], call.body)


@api(
    "POST",
    "/suggestions/<suggestion_id>/fund-requests",
    summary="Turn a suggestion into a fund disbursement request",
    tag="voice",
    body=SuggestionFundIn,
    response=SuggestionFundOut,
    status=201,
    roles=FUND_ACTORS,
)
def fund_request(call: Call) -> dict:
    """The fund request names the suggestion (the fund checks it), then the suggestion
    records the request: a retry with the same Idempotency-Key repeats neither."""
    suggestion_id = call.path["suggestion_id"]
    suggestion = call.rpc("tickets").get_suggestion(suggestion_id)
    disbursement = call.rpc("fund").request_disbursement(
        {**call.body, "community_id": suggestion["community_id"], "suggestion_id": suggestion_id}
    )
    linked = call.rpc("tickets").link_suggestion(
        suggestion_id, {"kind": "fund_disbursement", "target_id": disbursement["id"]}
    )
    return {"suggestion": linked, "disbursement": disbursement}


# -- mediation cases ----------------------------------------------------------------
@api(
    "POST",
    "/mediation-cases",
    summary="Open a dispute mediation case",
    tag="voice",
    body=CaseIn,
    response=CaseOut,
    status=201,
    roles=MEDIATORS,
)
def open_case(call: Call) -> dict:
    return call.rpc("tickets").open_case(call.body)


@api(
    "GET",
    "/mediation-cases/report",
    summary="Disputes handled, outcomes and satisfaction by street and month",
    tag="voice",
    query=DisputeReportQuery,
    response=DisputeReportOut,
    roles=VOICE_REPORT_READERS,
)
def dispute_report(call: Call) -> dict:
    return {"items": call.rpc("tickets").dispute_report(call.query)}


@api(
    "GET",
    "/mediation-cases/<case_id>",
    summary="Get a mediation case",
    tag="voice",
    response=CaseOut,
    roles=CASE_READERS,
)
def get_case(call: Call) -> dict:
    return call.rpc("tickets").get_case(call.path["case_id"])


@api(
    "POST",
    "/mediation-cases/<case_id>/sessions",
    summary="Record a mediation session",
    tag="voice",
    body=SessionIn,
    response=CaseOut,
    roles=MEDIATORS,
)
def add_case_session(call: Call) -> dict:
    return call.rpc("tickets").add_case_session(call.path["case_id"], call.body)


@api(
    "POST",
    "/mediation-cases/<case_id>/close",
    summary="Close a mediation case with its outcome and the parties' satisfaction",
    tag="voice",
    body=CloseIn,
    response=CaseOut,
    roles=MEDIATORS,
)
def close_case(call: Call) -> dict:
    return call.rpc("tickets").close_case(call.path["case_id"], call.body)


# -- reports ------------------------------------------------------------------------
@api(
    "GET",
    "/tickets/report/beneficiary-groups",
    summary="Services and reach by beneficiary group and month",
    tag="voice",
    query=VoiceReportQuery,
    response=GroupReportOut,
    roles=VOICE_REPORT_READERS,
)
def beneficiary_report(call: Call) -> dict:
    return {"items": call.rpc("tickets").beneficiary_report(call.query)}


@api(
    "GET",
    "/indicators",
    summary="The district's indicators for a period, from every service's data",
    tag="voice",
    query=PeriodQuery,
    response=IndicatorsOut,
    roles=None,
)
def indicators(call: Call) -> dict:
    return gather(call.rpc, call.query)
