"""Routes for the hour ledger: attendance sheets, verification, corrections, totals,
leaderboards, certificates and the national volunteer record."""

from __future__ import annotations

import base64

from werkzeug.wrappers import Response

from services.gateway.routing import Call, api, forwarding
from services.hours.permissions import CORRECTION_REQUESTERS, DECIDERS, READERS, RECORDERS, SELECTION_SETTERS
from services.hours.schemas import (
    CertificateCheckOut,
    CertificateCheckQuery,
    CertificateIn,
    CertificateOut,
    CorrectionIn,
    EntryOut,
    EntryQuery,
    LeaderboardOut,
    LeaderboardQuery,
    PeriodQuery,
    RecordQuery,
    RejectIn,
    SelectionIn,
    SelectionOut,
    SheetIn,
    SheetOut,
    VolunteerRecordOut,
    VolunteerTotalOut,
)
from yilin.paging import page_schema

TAG = "hours"


forward = forwarding("hours", TAG)

forward(
    "POST",
    "/hours/sheets",
    "submit_sheet",
    summary="Submit an activity attendance sheet",
    body=SheetIn,
    response=SheetOut,
    status=201,
    roles=RECORDERS,
)

forward(
    "GET",
    "/hours/sheets/<sheet_id>",
    "get_sheet",
    summary="Get an attendance sheet with its entries",
    response=SheetOut,
    roles=READERS,
)

forward(
    "POST",
    "/hours/sheets/<sheet_id>/verify",
    "verify_sheet",
    summary="Verify every pending entry of a sheet",
    response=SheetOut,
    roles=DECIDERS,
)

forward(
    "GET",
    "/hours/entries",
    "list_entries",
    summary="List ledger entries",
    query=EntryQuery,
    response=page_schema(EntryOut),
    roles=READERS,
)

forward("GET", "/hours/entries/<entry_id>", "get_entry", summary="Get a ledger entry", response=EntryOut, roles=READERS)

forward(
    "POST",
    "/hours/entries/<entry_id>/verify",
    "verify_entry",
    summary="Verify a pending entry",
    response=EntryOut,
    roles=DECIDERS,
)

forward(
    "POST",
    "/hours/entries/<entry_id>/reject",
    "reject_entry",
    summary="Reject a pending entry with a reason",
    body=RejectIn,
    response=EntryOut,
    roles=DECIDERS,
)

forward(
    "POST",
    "/hours/entries/<entry_id>/corrections",
    "request_correction",
    summary="Ask for a correction of a verified entry",
    body=CorrectionIn,
    response=EntryOut,
    status=201,
    roles=CORRECTION_REQUESTERS,
)

forward(
    "POST",
    "/hours/corrections/<correction_id>/approve",
    "approve_correction",
    summary="Approve a correction",
    response=EntryOut,
    roles=DECIDERS,
)

forward(
    "POST",
    "/hours/corrections/<correction_id>/reject",
    "reject_correction",
    summary="Reject a correction with a reason",
    body=RejectIn,
    response=EntryOut,
    roles=DECIDERS,
)

forward(
    "GET",
    "/hours/volunteers/<volunteer_id>/totals",
    "volunteer_total",
    summary="A volunteer's verified hours and star level",
    query=PeriodQuery,
    response=VolunteerTotalOut,
    roles=READERS,
)

forward(
    "GET",
    "/hours/volunteers/<volunteer_id>/selection",
    "get_selection",
    summary="Whether a volunteer is selected (needed for 5 stars)",
    response=SelectionOut,
    roles=SELECTION_SETTERS,
)

forward(
    "PUT",
    "/hours/volunteers/<volunteer_id>/selection",
    "set_selection",
    summary="Select a volunteer (needed for 5 stars)",
    body=SelectionIn,
    response=VolunteerTotalOut,
    roles=SELECTION_SETTERS,
    tagged=SelectionOut().dump,  # the ETag is the selection's: the answer also carries the totals
)


@api(
    "GET",
    "/hours/volunteers/<volunteer_id>/record",
    summary="Export a volunteer's record in the national structure (JSON or CSV)",
    tag=TAG,
    query=RecordQuery,
    response=VolunteerRecordOut,
    media_types=("text/csv",),
    roles=READERS,
)
def volunteer_record(call: Call) -> dict | Response:
    if call.query.get("format") == "csv":
        out = call.rpc("hours").volunteer_record_csv(call.path["volunteer_id"])
        return Response(
            out["csv"],
            status=200,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{out["filename"]}"'},
        )
    return call.rpc("hours").volunteer_record(call.path["volunteer_id"])


forward(
    "GET",
    "/hours/leaderboard",
    "leaderboard",
    summary="Verified hours ranked by volunteer, team, community or organisation",
    query=LeaderboardQuery,
    response=LeaderboardOut,
    roles=None,
)

forward(
    "POST",
    "/hours/certificates",
    "issue_certificate",
    summary="Issue a volunteer service record certificate",
    body=CertificateIn,
    response=CertificateOut,
    status=201,
    roles=DECIDERS,
)

forward(
    "GET",
    "/hours/certificates/verify",
    "verify_certificate",
    summary="Check that a certificate number is genuine and unaltered",
    query=CertificateCheckQuery,
    response=CertificateCheckOut,
    roles=None,
    public=True,
)

forward(
    "GET",
    "/hours/certificates/<certificate_id>",
    "get_certificate",
    summary="Get a certificate",
    response=CertificateOut,
    roles=READERS,
)


@api(
    "GET",
    "/hours/certificates/<certificate_id>/pdf",
    summary="The printable certificate (PDF)",
    tag=TAG,
    media_types=("application/pdf",),
    roles=READERS,
)
def certificate_pdf(call: Call) -> Response:
    out = call.rpc("hours").certificate_pdf(call.path["certificate_id"])
    return Response(
        base64.b64decode(out["pdf_base64"]),
        status=200,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{out["filename"]}"'},
    )
