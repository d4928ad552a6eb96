"""Routes for ticket categories, tickets, their lifecycle, dispatch and reports."""

from __future__ import annotations

from marshmallow import Schema

from services.gateway.routing import Call, api
from services.tickets.permissions import (
    CANCELLERS,
    CATEGORY_EDITORS,
    CONFIRMERS,
    DISPATCHERS,
    READERS,
    REPORT_READERS,
    WORKERS,
)
from services.tickets.schemas import (
    AssignIn,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CategoryQuery,
    ConfirmIn,
    HistoryOut,
    NoteIn,
    ReportOut,
    ReportQuery,
    ResolveIn,
    SuggestionsOut,
    TicketIn,
    TicketOut,
    TicketQuery,
)
from yilin.paging import page_schema


@api(
    "POST",
    "/ticket-categories",
    summary="Create a ticket category",
    tag="tickets",
    body=CategoryIn,
    response=CategoryOut,
    status=201,
    roles=CATEGORY_EDITORS,
)
def create_category(call: Call) -> dict:
    return call.rpc("tickets").create_category(call.body)


@api(
    "GET",
    "/ticket-categories",
    summary="List ticket categories",
    tag="tickets",
    query=CategoryQuery,
    response=page_schema(CategoryOut),
    roles=None,
)
def list_categories(call: Call) -> dict:
    return call.rpc("tickets").list_categories(call.query)


@api(
    "GET",
    "/ticket-categories/<category_id>",
    summary="Get a ticket category",
    tag="tickets",
    response=CategoryOut,
    roles=None,
)
def get_category(call: Call) -> dict:
    return call.rpc("tickets").get_category(call.path["category_id"])


@api(
    "PATCH",
    "/ticket-categories/<category_id>",
    summary="Update a ticket category",
    tag="tickets",
    body=CategoryPatch,
    response=CategoryOut,
    roles=CATEGORY_EDITORS,
)
def update_category(call: Call) -> dict:
    return call.rpc("tickets").update_category(call.path["category_id"], call.body, if_match=call.if_match)


@api(
    "POST",
    "/tickets",
    summary="Open a ticket",
    tag="tickets",
    body=TicketIn,
    response=TicketOut,
    status=201,
    roles=READERS,
)
def open_ticket(call: Call) -> dict:
    return call.rpc("tickets").open_ticket(call.body)


@api(
    "GET",
    "/tickets",
    summary="List tickets",
    tag="tickets",
    query=TicketQuery,
    response=page_schema(TicketOut),
    roles=READERS,
)
def list_tickets(call: Call) -> dict:
    return call.rpc("tickets").list_tickets(call.query)


@api(
    "GET",
    "/tickets/report",
    summary="Ticket report by community, category and month",
    tag="tickets",
    query=ReportQuery,
    response=ReportOut,
    roles=REPORT_READERS,
)
def report(call: Call) -> dict:
    return {"items": call.rpc("tickets").report(call.query)}


@api("GET", "/tickets/<ticket_id>", summary="Get a ticket", tag="tickets", response=TicketOut, roles=READERS)
def get_ticket(call: Call) -> dict:
    return call.rpc("tickets").get_ticket(call.path["ticket_id"])


@api(
    "GET",
    "/tickets/<ticket_id>/history",
    summary="A ticket's transitions",
    tag="tickets",
    response=HistoryOut,
    roles=READERS,
)
def ticket_history(call: Call) -> dict:
    return {"items": call.rpc("tickets").ticket_history(call.path["ticket_id"])}


@api(
    "GET",
    "/tickets/<ticket_id>/suggestions",
    summary="Suggest teams for a ticket",
    tag="tickets",
    response=SuggestionsOut,
    roles=DISPATCHERS,
)
def suggest_teams(call: Call) -> dict:
    return call.rpc("tickets").suggest_teams(call.path["ticket_id"])


def _transition(action: str, body: type[Schema], summary: str, roles: tuple[str, ...]) -> None:
    def handler(call: Call) -> dict:
        return getattr(call.rpc("tickets"), action)(call.path["ticket_id"], call.body)

    handler.__name__ = f"{action}_ticket"
    api(
        "POST",
        f"/tickets/<ticket_id>/{action}",
        summary=summary,
        tag="tickets",
        body=body,
        response=TicketOut,
        roles=roles,
    )(handler)


_transition("assign", AssignIn, "Assign a team and volunteers", DISPATCHERS)
_transition("start", NoteIn, "Start work on a ticket", WORKERS)
_transition("resolve", ResolveIn, "Resolve a ticket with the minutes served", WORKERS)
_transition("confirm", ConfirmIn, "Confirm and rate a resolved ticket", CONFIRMERS)
_transition("reopen", NoteIn, "Reopen a resolved ticket", CONFIRMERS)
_transition("escalate", NoteIn, "Escalate a ticket to a social worker", WORKERS)
_transition("cancel", NoteIn, "Cancel a ticket", CANCELLERS)
