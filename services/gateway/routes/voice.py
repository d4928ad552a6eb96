"""Routes for residents' voice: suggestions (益邻·心声) with their answers and links,
mediation cases, the reports by topic, dispute and beneficiary group, and the
district's indicators."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.fund.permissions import REQUESTERS
from services.fund.schemas import DisbursementIn, DisbursementOut
from services.gateway.indicators import IndicatorsOut, gather
from services.gateway.routing import Call, api, forwarding
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


forward = forwarding("tickets", "voice")


# -- suggestions --------------------------------------------------------------------
forward(
    "POST",
    "/suggestions",
    "collect_suggestion",
    summary="Collect a suggestion (door to door, or a resident's own online)",
    body=SuggestionIn,
    response=SuggestionOut,
    status=201,
    roles=SUGGESTION_COLLECTORS,
)

forward(
    "GET",
    "/suggestions",
    "list_suggestions",
    summary="List suggestions",
    query=SuggestionQuery,
    response=page_schema(SuggestionOut),
    roles=SUGGESTION_READERS,
)

forward(
    "GET",
    "/suggestions/report",
    "suggestion_report",
    summary="Suggestions by community, topic and month",
    query=VoiceReportQuery,
    response=SuggestionReportOut,
    roles=VOICE_REPORT_READERS,
    items=True,
)

forward(
    "GET",
    "/suggestions/<suggestion_id>",
    "get_suggestion",
    summary="Get a suggestion with its residents and what it turned into",
    response=SuggestionOut,
    roles=SUGGESTION_READERS,
)

forward(
    "POST",
    "/suggestions/<suggestion_id>/merge",
    "merge_suggestion",
    summary="Merge a repeated suggestion into an earlier one",
    body=MergeIn,
    response=SuggestionOut,
    roles=SUGGESTION_HANDLERS,
)

forward(
    "POST",
    "/suggestions/<suggestion_id>/answer",
    "answer_suggestion",
    summary="Answer the residents who raised a suggestion",
    body=AnswerIn,
    response=SuggestionOut,
    roles=SUGGESTION_HANDLERS,
)

forward(
    "POST",
    "/suggestions/<suggestion_id>/links",
    "link_suggestion",
    summary="Record the ticket, fund request or activity a suggestion turned into",
    body=LinkIn,
    response=SuggestionOut,
    roles=SUGGESTION_HANDLERS,
)


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
forward(
    "POST",
    "/mediation-cases",
    "open_case",
    summary="Open a dispute mediation case",
    body=CaseIn,
    response=CaseOut,
    status=201,
    roles=MEDIATORS,
)

forward(
    "GET",
    "/mediation-cases/report",
    "dispute_report",
    summary="Disputes handled, outcomes and satisfaction by street and month",
    query=DisputeReportQuery,
    response=DisputeReportOut,
    roles=VOICE_REPORT_READERS,
    items=True,
)

forward(
    "GET",
    "/mediation-cases/<case_id>",
    "get_case",
    summary="Get a mediation case",
    response=CaseOut,
    roles=CASE_READERS,
)

forward(
    "POST",
    "/mediation-cases/<case_id>/sessions",
    "add_case_session",
    summary="Record a mediation session",
    body=SessionIn,
    response=CaseOut,
    roles=MEDIATORS,
)

forward(
    "POST",
    "/mediation-cases/<case_id>/close",
    "close_case",
    summary="Close a mediation case with its outcome and the parties' satisfaction",
    body=CloseIn,
    response=CaseOut,
    roles=MEDIATORS,
)


# -- reports ------------------------------------------------------------------------
forward(
    "GET",
    "/tickets/report/beneficiary-groups",
    "beneficiary_report",
    summary="Services and reach by beneficiary group and month",
    query=VoiceReportQuery,
    response=GroupReportOut,
    roles=VOICE_REPORT_READERS,
    items=True,
)


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
