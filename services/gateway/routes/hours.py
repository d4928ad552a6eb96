"""Routes for the hour ledger: attendance sheets, verification, corrections, totals,
leaderboards, certificates and the national volunteer record."""

from __future__ import annotations

import base64

from werkzeug.wrappers import Response

from services.gateway.routing import Call, api
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


@api(
    "POST",
    "/hours/sheets",
    summary="Submit an activity attendance sheet",
    tag=TAG,
    body=SheetIn,
    response=SheetOut,
    status=201,
    roles=RECORDERS,
)
def submit_sheet(call: Call) -> dict:
    return call.rpc("hours").submit_sheet(call.body)


@api(
    "GET",
    "/hours/sheets/<sheet_id>",
    summary="Get an attendance sheet with its entries",
    tag=TAG,
    response=SheetOut,
    roles=READERS,
)
def get_sheet(call: Call) -> dict:
    return call.rpc("hours").get_sheet(call.path["sheet_id"])


@api(
    "POST",
    "/hours/sheets/<sheet_id>/verify",
    summary="Verify every pending entry of a sheet",
    tag=TAG,
    response=SheetOut,
    roles=DECIDERS,
)
def verify_sheet(call: Call) -> dict:
    return call.rpc("hours").verify_sheet(call.path["sheet_id"])


@api(
    "GET",
    "/hours/entries",
    summary="List ledger entries",
    tag=TAG,
    query=EntryQuery,
    response=page_schema(EntryOut),
    roles=READERS,
)
def list_entries(call: Call) -> dict:
    return call.rpc("hours").list_entries(call.query)


@api("GET", "/hours/entries/<entry_id>", summary="Get a ledger entry", tag=TAG, response=EntryOut, roles=READERS)
def get_entry(call: Call) -> dict:
    return call.rpc("hours").get_entry(call.path["entry_id"])


@api(
    "POST",
    "/hours/entries/<entry_id>/verify",
    summary="Verify a pending entry",
    tag=TAG,
    response=EntryOut,
    roles=DECIDERS,
)
def verify_entry(call: Call) -> dict:
    return call.rpc("hours").verify_entry(call.path["entry_id"])


@api(
    "POST",
    "/hours/entries/<entry_id>/reject",
    summary="Reject a pending entry with a reason",
    tag=TAG,
    body=RejectIn,
    response=EntryOut,
    roles=DECIDERS,
)
def reject_entry(call: Call) -> dict:
    return call.rpc("hours").reject_entry(call.path["entry_id"], call.body)


@api(
    "POST",
    "/hours/entries/<entry_id>/corrections",
    summary="Ask for a correction of a verified entry",
    tag=TAG,
    body=CorrectionIn,
    response=EntryOut,
    status=201,
    roles=CORRECTION_REQUESTERS,
)
def request_correction(call: Call) -> dict:
    return call.rpc("hours").request_correction(call.path["entry_id"], call.body)


@api(
    "POST",
    "/hours/corrections/<correction_id>/approve",
    summary="Approve a correction",
    tag=TAG,
    response=EntryOut,
    roles=DECIDERS,
)
def approve_correction(call: Call) -> dict:
    return call.rpc("hours").approve_correction(call.path["correction_id"])


@api(
    "POST",
    "/hours/corrections/<correction_id>/reject",
    summary="Reject a correction with a reason",
    tag=TAG,
    body=RejectIn,
    response=EntryOut,
    roles=DECIDERS,
)
def reject_correction(call: Call) -> dict:
    return call.rpc("hours").reject_correction(call.path["correction_id"], call.body)


@api(
    "GET",
    "/hours/volunteers/<volunteer_id>/totals",
    summary="A volunteer's verified hours and star level",
    tag=TAG,
    query=PeriodQuery,
    response=VolunteerTotalOut,
    roles=READERS,
)
def volunteer_total(call: Call) -> dict:
    return call.rpc("hours").volunteer_total(call.path["volunteer_id"], call.query)


@api(
    "GET",
    "/hours/volunteers/<volunteer_id>/selection",
    summary="Whether a volunteer is selected (needed for 5 stars)",
    tag=TAG,
    response=SelectionOut,
    roles=SELECTION_SETTERS,
)
def get_selection(call: Call) -> dict:
    return call.rpc("hours").get_selection(call.path["volunteer_id"])


@api(
    "PUT",
    "/hours/volunteers/<volunteer_id>/selection",
    summary="Select a volunteer (needed for 5 stars)",
    tag=TAG,
    body=SelectionIn,
    response=VolunteerTotalOut,
    roles=SELECTION_SETTERS,
    tagged=SelectionOut().dump,  # the ETag is the selection's: the answer also carries the totals
)
def set_selection(call: Call) -> dict:
    return call.rpc("hours").set_selection(call.path["volunteer_id"], call.body, if_match=call.if_match)


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


@api(
    "GET",
    "/hours/leaderboard",
    summary="Verified hours ranked by volunteer, team, community or organisation",
    tag=TAG,
    query=LeaderboardQuery,
    response=LeaderboardOut,
    roles=None,
)
def leaderboard(call: Call) -> dict:
    return call.rpc("hours").leaderboard(call.query)


@api(
    "POST",
    "/hours/certificates",
    summary="Issue a volunteer service record certificate",
    tag=TAG,
    body=CertificateIn,
    response=CertificateOut,
    status=201,
    roles=DECIDERS,
)
def issue_certificate(call: Call) -> dict:
    return call.rpc("hours").issue_certificate(call.body)


@api(
    "GET",
    "/hours/certificates/verify",
    summary="Check that a certificate number is genuine and unaltered",
    tag=TAG,
    query=CertificateCheckQuery,
    response=CertificateCheckOut,
    roles=None,
    public=True,
)
def verify_certificate(call: Call) -> dict:
    return call.rpc("hours").verify_certificate(call.query)


@api(
    "GET",
    "/hours/certificates/<certificate_id>",
    summary="Get a certificate",
    tag=TAG,
    response=CertificateOut,
    roles=READERS,
)
def get_certificate(call: Call) -> dict:
    return call.rpc("hours").get_certificate(call.path["certificate_id"])


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
