"""Routes for ticket categories, tickets, their lifecycle, dispatch and reports."""

from __future__ import annotations

from marshmallow import Schema

from services.gateway.routing import forwarding
from services.tickets.permissions import (
    CANCELLERS,
    CATEGORY_EDITORS,
    CONFIRMERS,
    DISPATCHERS,
    OPENERS,
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

forward = forwarding("tickets", "tickets")

forward(
    "POST",
    "/ticket-categories",
    "create_category",
    summary="Create a ticket category",
    body=CategoryIn,
    response=CategoryOut,
    status=201,
    roles=CATEGORY_EDITORS,
)

forward(
    "GET",
    "/ticket-categories",
    "list_categories",
    summary="List ticket categories",
    query=CategoryQuery,
    response=page_schema(CategoryOut),
    roles=None,
)

forward(
    "GET",
    "/ticket-categories/<category_id>",
    "get_category",
    summary="Get a ticket category",
    response=CategoryOut,
    roles=None,
)

forward(
    "PATCH",
    "/ticket-categories/<category_id>",
    "update_category",
    summary="Update a ticket category",
    body=CategoryPatch,
    response=CategoryOut,
    roles=CATEGORY_EDITORS,
)

forward(
    "POST",
    "/tickets",
    "open_ticket",
    summary="Open a ticket",
    body=TicketIn,
    response=TicketOut,
    status=201,
    roles=OPENERS,
)

forward(
    "GET",
    "/tickets",
    "list_tickets",
    summary="List tickets",
    query=TicketQuery,
    response=page_schema(TicketOut),
    roles=READERS,
)

forward(
    "GET",
    "/tickets/report",
    "report",
    summary="Ticket report by community, category and month",
    query=ReportQuery,
    response=ReportOut,
    roles=REPORT_READERS,
    items=True,
)

forward("GET", "/tickets/<ticket_id>", "get_ticket", summary="Get a ticket", response=TicketOut, roles=READERS)

forward(
    "GET",
    "/tickets/<ticket_id>/history",
    "ticket_history",
    summary="A ticket's transitions",
    response=HistoryOut,
    roles=READERS,
    items=True,
)

forward(
    "GET",
    "/tickets/<ticket_id>/suggestions",
    "suggest_teams",
    summary="Suggest teams for a ticket",
    response=SuggestionsOut,
    roles=DISPATCHERS,
)


def _transition(action: str, body: type[Schema], summary: str, roles: tuple[str, ...]) -> None:
    """A transition of one ticket: ``POST /tickets/<ticket_id>/<action>``."""
    forward(
        "POST",
        f"/tickets/<ticket_id>/{action}",
        action,
        summary=summary,
        name=f"{action}_ticket",
        body=body,
        response=TicketOut,
        roles=roles,
    )


_transition("assign", AssignIn, "Assign a team and volunteers", DISPATCHERS)
_transition("start", NoteIn, "Start work on a ticket", WORKERS)
_transition("resolve", ResolveIn, "Resolve a ticket with the minutes served", WORKERS)
_transition("confirm", ConfirmIn, "Confirm and rate a resolved ticket", CONFIRMERS)
_transition("reopen", NoteIn, "Reopen a resolved ticket", CONFIRMERS)
_transition("escalate", NoteIn, "Escalate a ticket to a social worker", WORKERS)
_transition("cancel", NoteIn, "Cancel a ticket", CANCELLERS)
