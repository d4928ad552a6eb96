"""Who may call each operation of the published API (docs/openapi.json), and whose
objects they reach: written out by hand from the documented rules (docs/security.md,
the design's "every role sees only its own objects", each service's documented role
table), never imported from ``services/*/permissions.py``, so the matrix tests the
tables instead of repeating them. An operation missing here fails the matrix.

``MATRIX``: the roles the route admits at all. ``ANY``: any authenticated caller;
``PUBLIC``: no credentials needed.

``SCOPES``: for every operation on one object (or on a tenant's data), which of the
two seeded tenants' objects (``tests/security/tenants.py``) each admitted role reaches.
The caller belongs to tenant a; ``own`` is its own object, ``other`` someone else's in
the same tenant, ``tenant`` tenant b's. ``deny`` is the route's one answer to a refused
object: ``403`` throughout (docs/security.md: "a record that does not exist is 404; one
that exists but is not the caller's is 403"), so a refusal never reads as a missing
object and the convention is the same on every route."""

from __future__ import annotations

from dataclasses import dataclass

ANY = "any authenticated caller"
PUBLIC = "public"

Allowed = tuple[str, ...] | str

# Literal role groups, named for readability only.
STAFF = ("operator", "org_admin", "social_worker")
HOURS_READERS = ("operator", "org_admin", "verifier", "auditor", "social_worker", "team_lead", "volunteer")
REGISTRY_READERS = ("operator", "org_admin", "auditor", "social_worker", "team_lead", "verifier", "fund_committee")
FUND_READERS = ("operator", "org_admin", "auditor", "fund_committee", "social_worker", "enterprise_rep")
ACTIVITY_READERS = ("operator", "org_admin", "social_worker", "auditor", "team_lead", "volunteer", "verifier")
ORGANISERS = ("operator", "org_admin", "social_worker", "team_lead")
REPORTS = ("operator", "org_admin", "social_worker", "auditor")

MATRIX: dict[tuple[str, str], Allowed] = {
    # activities: organisations publish and run them; volunteers sign up; reports for staff
    ("POST", "/projects"): ORGANISERS,
    ("GET", "/projects"): ACTIVITY_READERS,
    ("GET", "/projects/{project_id}"): ACTIVITY_READERS,
    ("GET", "/projects/{project_id}/report"): (*REPORTS, "verifier"),
    ("POST", "/activities"): ORGANISERS,
    ("GET", "/activities"): ACTIVITY_READERS,
    ("GET", "/activities/reports/organisations"): (*REPORTS, "verifier"),
    ("GET", "/activities/reports/communities"): (*REPORTS, "verifier"),
    ("GET", "/activities/reports/beneficiary-groups"): (*REPORTS, "verifier"),
    ("GET", "/activities/indicator-counts"): (*REPORTS, "verifier"),
    ("GET", "/activities/{activity_id}"): ACTIVITY_READERS,
    ("GET", "/activities/{activity_id}/sign-ups"): ACTIVITY_READERS,
    ("POST", "/activities/{activity_id}/sign-ups"): ("operator", "volunteer", "team_lead", "social_worker"),
    ("POST", "/activities/{activity_id}/cancellations"): (
        "operator",
        "volunteer",
        "team_lead",
        "social_worker",
        "org_admin",
    ),
    ("POST", "/activities/{activity_id}/check-ins"): ORGANISERS,
    ("POST", "/activities/{activity_id}/check-outs"): ORGANISERS,
    ("POST", "/activities/{activity_id}/check-in-code"): ORGANISERS,
    ("POST", "/activities/{activity_id}/code-check-ins"): ("operator", "volunteer", "team_lead", "social_worker"),
    ("POST", "/activities/{activity_id}/no-shows"): ORGANISERS,
    ("POST", "/activities/{activity_id}/close"): ORGANISERS,
    ("POST", "/commendations"): ("operator", "org_admin"),
    # the audit trail: auditors and operators (docs/security.md "Audit trail")
    ("GET", "/audit"): ("auditor", "operator"),
    # registry (docs/security.md "Registry object-level rules"); places and the like are
    # the district's public reference data
    ("POST", "/places"): ("operator",),
    ("GET", "/places"): ANY,
    ("GET", "/places/{place_id}"): ANY,
    ("POST", "/organisations"): ("operator",),
    ("GET", "/organisations"): ANY,
    ("GET", "/organisations/{organisation_id}"): ANY,
    ("POST", "/teams"): ("operator", "org_admin"),
    ("GET", "/teams"): ANY,
    ("GET", "/teams/{team_id}"): ANY,
    ("GET", "/teams/{team_id}/members"): (*REGISTRY_READERS, "volunteer"),
    ("POST", "/teams/{team_id}/members"): ("operator", "org_admin", "team_lead"),
    ("DELETE", "/teams/{team_id}/members/{volunteer_id}"): ("operator", "org_admin", "team_lead"),
    ("POST", "/volunteers"): ("operator", "org_admin"),
    ("GET", "/volunteers"): REGISTRY_READERS,
    ("GET", "/volunteers/{volunteer_id}"): (*REGISTRY_READERS, "volunteer"),
    ("PATCH", "/volunteers/{volunteer_id}"): ("operator", "org_admin"),
    ("POST", "/volunteers/import"): ("operator", "org_admin"),
    ("POST", "/units"): ("operator", "org_admin"),
    ("GET", "/units"): ANY,
    ("GET", "/units/{unit_id}"): ANY,
    ("GET", "/grids/{grid_id}"): ANY,
    ("POST", "/cadres"): ("operator",),
    ("GET", "/cadres"): REGISTRY_READERS,
    ("GET", "/candidates"): REGISTRY_READERS,
    ("GET", "/registry/counts"): REGISTRY_READERS,
    # fund: money needs four eyes; auditors read and change nothing; pools and their
    # transparency reports are published to every resident
    ("POST", "/fund/enterprises"): ("operator", "org_admin"),
    ("GET", "/fund/enterprises"): FUND_READERS,
    ("GET", "/fund/enterprises/{enterprise_id}"): FUND_READERS,
    ("POST", "/fund/profit-reports"): ("operator", "enterprise_rep"),
    ("POST", "/fund/profit-reports/{report_id}/amendments"): ("operator", "enterprise_rep"),
    ("GET", "/fund/profit-reports"): FUND_READERS,
    ("GET", "/fund/profit-reports/{report_id}"): FUND_READERS,
    ("POST", "/fund/disbursements"): ("operator", "org_admin", "social_worker", "team_lead", "fund_committee"),
    ("GET", "/fund/disbursements"): FUND_READERS,
    ("GET", "/fund/disbursements/{disbursement_id}"): FUND_READERS,
    ("POST", "/fund/disbursements/{disbursement_id}/approvals"): ("fund_committee",),
    ("POST", "/fund/disbursements/{disbursement_id}/rejection"): ("operator", "fund_committee"),
    ("POST", "/fund/disbursements/{disbursement_id}/cancellation"): (
        "operator",
        "org_admin",
        "social_worker",
        "team_lead",
        "fund_committee",
    ),
    ("POST", "/fund/disbursements/{disbursement_id}/payment"): ("operator", "fund_committee"),
    ("GET", "/fund/pools/{community_id}"): PUBLIC,
    ("GET", "/fund/ledger/transfers"): ("operator", "auditor", "fund_committee"),
    ("GET", "/fund/ledger/trial-balance"): ("operator", "auditor", "fund_committee"),
    ("GET", "/fund/communities/{community_id}/transparency"): PUBLIC,
    # hours: recorded by organisations, decided by someone else of the organisation
    ("POST", "/hours/sheets"): ("operator", "org_admin", "verifier", "social_worker", "team_lead"),
    ("GET", "/hours/sheets/{sheet_id}"): HOURS_READERS,
    ("POST", "/hours/sheets/{sheet_id}/verify"): ("operator", "org_admin", "verifier"),
    ("GET", "/hours/entries"): HOURS_READERS,
    ("GET", "/hours/entries/{entry_id}"): HOURS_READERS,
    ("POST", "/hours/entries/{entry_id}/verify"): ("operator", "org_admin", "verifier"),
    ("POST", "/hours/entries/{entry_id}/reject"): ("operator", "org_admin", "verifier"),
    ("POST", "/hours/entries/{entry_id}/corrections"): ("operator", "org_admin", "verifier", "volunteer"),
    ("POST", "/hours/corrections/{correction_id}/approve"): ("operator", "org_admin", "verifier"),
    ("POST", "/hours/corrections/{correction_id}/reject"): ("operator", "org_admin", "verifier"),
    ("GET", "/hours/volunteers/{volunteer_id}/totals"): HOURS_READERS,
    ("GET", "/hours/volunteers/{volunteer_id}/selection"): ("operator", "org_admin"),
    ("PUT", "/hours/volunteers/{volunteer_id}/selection"): ("operator", "org_admin"),
    ("GET", "/hours/volunteers/{volunteer_id}/record"): HOURS_READERS,
    ("GET", "/hours/leaderboard"): ANY,
    ("POST", "/hours/certificates"): ("operator", "org_admin", "verifier"),
    ("GET", "/hours/certificates/verify"): PUBLIC,
    ("GET", "/hours/certificates/{certificate_id}"): HOURS_READERS,
    ("GET", "/hours/certificates/{certificate_id}/pdf"): HOURS_READERS,
    # tickets: residents raise needs, staff dispatch, volunteers serve; auditors read only
    ("POST", "/ticket-categories"): ("operator",),
    ("GET", "/ticket-categories"): ANY,
    ("GET", "/ticket-categories/{category_id}"): ANY,
    ("PATCH", "/ticket-categories/{category_id}"): ("operator",),
    ("POST", "/tickets"): (*STAFF, "team_lead", "volunteer", "resident"),
    ("GET", "/tickets"): (*STAFF, "auditor", "team_lead", "volunteer", "resident"),
    ("GET", "/tickets/report"): REPORTS,
    ("GET", "/tickets/{ticket_id}"): (*STAFF, "auditor", "team_lead", "volunteer", "resident"),
    ("GET", "/tickets/{ticket_id}/history"): (*STAFF, "auditor", "team_lead", "volunteer", "resident"),
    ("GET", "/tickets/{ticket_id}/suggestions"): (*STAFF, "team_lead"),
    ("POST", "/tickets/{ticket_id}/assign"): (*STAFF, "team_lead"),
    ("POST", "/tickets/{ticket_id}/start"): (*STAFF, "team_lead", "volunteer"),
    ("POST", "/tickets/{ticket_id}/resolve"): (*STAFF, "team_lead", "volunteer"),
    ("POST", "/tickets/{ticket_id}/confirm"): ("operator", "resident"),
    ("POST", "/tickets/{ticket_id}/reopen"): ("operator", "resident"),
    ("POST", "/tickets/{ticket_id}/escalate"): (*STAFF, "team_lead", "volunteer"),
    ("POST", "/tickets/{ticket_id}/cancel"): ("operator", "org_admin", "resident"),
    # residents' voice (docs/security.md "Residents' voice")
    ("POST", "/suggestions"): (*STAFF, "team_lead", "volunteer", "resident"),
    ("GET", "/suggestions"): (*STAFF, "team_lead", "volunteer", "resident", "auditor", "fund_committee"),
    ("GET", "/suggestions/report"): REPORTS,
    ("GET", "/suggestions/{suggestion_id}"): (
        *STAFF,
        "team_lead",
        "volunteer",
        "resident",
        "auditor",
        "fund_committee",
    ),
    ("POST", "/suggestions/{suggestion_id}/merge"): STAFF,
    ("POST", "/suggestions/{suggestion_id}/answer"): STAFF,
    ("POST", "/suggestions/{suggestion_id}/links"): STAFF,
    ("POST", "/suggestions/{suggestion_id}/fund-requests"): STAFF,
    ("POST", "/mediation-cases"): ("operator", "social_worker"),
    ("GET", "/mediation-cases/report"): REPORTS,
    ("GET", "/mediation-cases/{case_id}"): ("operator", "social_worker", "org_admin", "auditor"),
    ("POST", "/mediation-cases/{case_id}/sessions"): ("operator", "social_worker"),
    ("POST", "/mediation-cases/{case_id}/close"): ("operator", "social_worker"),
    ("GET", "/tickets/report/beneficiary-groups"): REPORTS,
    ("GET", "/indicators"): ANY,
}

# Roles that act for the whole district and so reach either tenant's objects.
DISTRICT = ("operator", "auditor", "service")


@dataclass(frozen=True)
class Scope:
    """Which seeded objects an admitted role reaches on one route (see the module text)."""

    kind: str  # the seeded object the path names
    own: tuple[str, ...] | None = None  # roles reaching their own object; None: every admitted role
    other: tuple[str, ...] | None = None  # roles reaching someone else's in their tenant; None: no such case
    tenant: tuple[str, ...] = DISTRICT  # roles reaching the other tenant's object
    deny: int = 403
    # roles whose allowed answer on tenant b's object names nothing of tenant b but the path's id
    bare: tuple[str, ...] = ()
    # Hours reads that the hours read change scopes by organisation; the expectation is the
    # fail-closed rule all the same (a staff member sees only their organisation's
    # volunteers, a volunteer only their own).
    pending: bool = False


ORG_STAFF = ("org_admin", "verifier", "social_worker")
EVERYONE_IN_TENANT = (
    "operator",
    "auditor",
    "org_admin",
    "verifier",
    "social_worker",
    "fund_committee",
    "enterprise_rep",
)

SCOPES: dict[tuple[str, str], Scope] = {
    # Published projects and activities are a call to every volunteer of the district
    # (signing up across organisations is allowed): any admitted reader reaches them.
    ("GET", "/projects/{project_id}"): Scope("project", tenant=ACTIVITY_READERS),
    ("GET", "/projects/{project_id}/report"): Scope("project", tenant=(*REPORTS, "verifier")),
    ("GET", "/activities/{activity_id}"): Scope("activity", tenant=ACTIVITY_READERS),
    # a volunteer signs up and checks in only themself (the body names volunteer 1)
    ("POST", "/activities/{activity_id}/sign-ups"): Scope(
        "activity", own=("operator", "volunteer", "team_lead"), tenant=("operator", "volunteer", "team_lead")
    ),
    ("POST", "/activities/{activity_id}/code-check-ins"): Scope(
        "activity", own=("volunteer", "team_lead"), tenant=("volunteer", "team_lead")
    ),
    # Who signed up is the organising organisation's business (and the volunteer's own).
    # (a volunteer or lead of another organisation gets their own sign-ups only: none)
    ("GET", "/activities/{activity_id}/sign-ups"): Scope(
        "activity", tenant=(*DISTRICT, "volunteer", "team_lead"), bare=("volunteer", "team_lead")
    ),
    # Running an activity is its own organisation's (or the operator's) work.
    ("POST", "/activities/{activity_id}/cancellations"): Scope(
        "activity", tenant=("operator", "volunteer", "team_lead")
    ),
    ("POST", "/activities/{activity_id}/check-ins"): Scope("activity", own=STAFF),
    ("POST", "/activities/{activity_id}/check-outs"): Scope("activity", own=STAFF),
    ("POST", "/activities/{activity_id}/check-in-code"): Scope("activity", own=STAFF),
    ("POST", "/activities/{activity_id}/no-shows"): Scope("activity", own=STAFF),
    ("POST", "/activities/{activity_id}/close"): Scope("activity", own=STAFF),
    # registry: readers read any volunteer and team (masked); a volunteer their own; changes
    # only in the organisation's own teams and volunteers, a lead only in their own team
    ("GET", "/teams/{team_id}/members"): Scope("team", tenant=REGISTRY_READERS),
    ("POST", "/teams/{team_id}/members"): Scope("team"),
    ("DELETE", "/teams/{team_id}/members/{volunteer_id}"): Scope("team"),
    ("GET", "/volunteers/{volunteer_id}"): Scope("volunteer", other=REGISTRY_READERS, tenant=REGISTRY_READERS),
    ("PATCH", "/volunteers/{volunteer_id}"): Scope("volunteer", other=("operator", "org_admin")),
    # fund: the community pools are public (transparency reports), so its readers read
    # every request; an enterprise's representative only their own enterprise's reports
    ("GET", "/fund/enterprises/{enterprise_id}"): Scope("enterprise", tenant=EVERYONE_IN_TENANT),
    ("GET", "/fund/profit-reports/{report_id}"): Scope("report", tenant=EVERYONE_IN_TENANT[:-1]),
    ("POST", "/fund/profit-reports/{report_id}/amendments"): Scope("report"),
    ("GET", "/fund/disbursements/{disbursement_id}"): Scope("disbursement", tenant=EVERYONE_IN_TENANT),
    ("POST", "/fund/disbursements/{disbursement_id}/approvals"): Scope("disbursement", tenant=("fund_committee",)),
    ("POST", "/fund/disbursements/{disbursement_id}/rejection"): Scope(
        "disbursement", tenant=("operator", "fund_committee")
    ),
    # only the requester (seeded as tenant a's administrator "admin-a") or the operator cancels
    ("POST", "/fund/disbursements/{disbursement_id}/cancellation"): Scope(
        "disbursement", own=("operator", "org_admin")
    ),
    ("POST", "/fund/disbursements/{disbursement_id}/payment"): Scope(
        "disbursement", tenant=("operator", "fund_committee")
    ),
    # hours: organisation staff decide and read only their own organisation's volunteers'
    ("GET", "/hours/sheets/{sheet_id}"): Scope("sheet", own=("operator", "auditor", *ORG_STAFF), pending=True),
    ("POST", "/hours/sheets/{sheet_id}/verify"): Scope("sheet"),
    ("GET", "/hours/entries/{entry_id}"): Scope("entry", other=("operator", "auditor", *ORG_STAFF), pending=True),
    ("POST", "/hours/entries/{entry_id}/verify"): Scope("entry", other=("operator", "org_admin", "verifier")),
    ("POST", "/hours/entries/{entry_id}/reject"): Scope("entry", other=("operator", "org_admin", "verifier")),
    ("POST", "/hours/entries/{entry_id}/corrections"): Scope("entry", other=("operator", "org_admin", "verifier")),
    ("POST", "/hours/corrections/{correction_id}/approve"): Scope("correction"),
    ("POST", "/hours/corrections/{correction_id}/reject"): Scope("correction"),
    ("GET", "/hours/volunteers/{volunteer_id}/totals"): Scope(
        "volunteer", other=("operator", "auditor", *ORG_STAFF), pending=True
    ),
    ("GET", "/hours/volunteers/{volunteer_id}/selection"): Scope(
        "volunteer", other=("operator", "org_admin"), tenant=("operator",), pending=True
    ),
    ("PUT", "/hours/volunteers/{volunteer_id}/selection"): Scope("volunteer", other=("operator", "org_admin")),
    ("GET", "/hours/volunteers/{volunteer_id}/record"): Scope("volunteer", other=("operator", "auditor", *ORG_STAFF)),
    ("GET", "/hours/certificates/{certificate_id}"): Scope("certificate", other=("operator", "auditor", *ORG_STAFF)),
    ("GET", "/hours/certificates/{certificate_id}/pdf"): Scope(
        "certificate", other=("operator", "auditor", *ORG_STAFF)
    ),
    # tickets: staff their organisation's communities, a lead their team's, a volunteer the
    # tickets naming them, a resident their own
    ("GET", "/tickets/{ticket_id}"): Scope(
        "ticket", other=("operator", "auditor", "org_admin", "social_worker", "team_lead")
    ),
    ("GET", "/tickets/{ticket_id}/history"): Scope(
        "ticket", other=("operator", "auditor", "org_admin", "social_worker", "team_lead")
    ),
    ("GET", "/tickets/{ticket_id}/suggestions"): Scope("ticket", other=(*STAFF, "team_lead")),
    ("POST", "/tickets/{ticket_id}/assign"): Scope("ticket"),
    ("POST", "/tickets/{ticket_id}/start"): Scope("ticket"),
    ("POST", "/tickets/{ticket_id}/resolve"): Scope("ticket"),
    ("POST", "/tickets/{ticket_id}/confirm"): Scope("ticket", other=("operator",)),
    ("POST", "/tickets/{ticket_id}/reopen"): Scope("ticket", other=("operator",)),
    ("POST", "/tickets/{ticket_id}/escalate"): Scope("ticket"),
    ("POST", "/tickets/{ticket_id}/cancel"): Scope("ticket", other=("operator", "org_admin")),
    # residents' voice: staff their organisation's communities, a resident their own
    ("GET", "/suggestions/{suggestion_id}"): Scope(
        "suggestion",
        own=(*STAFF, "auditor", "fund_committee", "resident"),  # volunteers read what they collected
        other=("operator", "auditor", "fund_committee", "org_admin", "social_worker"),
        tenant=("operator", "auditor", "fund_committee"),
    ),
    ("POST", "/suggestions/{suggestion_id}/merge"): Scope("suggestion"),
    ("POST", "/suggestions/{suggestion_id}/answer"): Scope("suggestion"),
    ("POST", "/suggestions/{suggestion_id}/links"): Scope("suggestion"),
    ("POST", "/suggestions/{suggestion_id}/fund-requests"): Scope("suggestion"),
    ("GET", "/mediation-cases/{case_id}"): Scope("case"),
    ("POST", "/mediation-cases/{case_id}/sessions"): Scope("case"),
    ("POST", "/mediation-cases/{case_id}/close"): Scope("case"),
}

# Lists of a tenant's data: the roles whose answer may name tenant b's objects; every
# other admitted role's answer names none of them.
LISTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/tickets"): ("operator", "auditor"),
    ("GET", "/suggestions"): ("operator", "auditor", "fund_committee"),
    ("GET", "/hours/entries"): ("operator", "auditor"),  # pending: the hours read change
    ("GET", "/fund/profit-reports"): ("operator", "auditor", "fund_committee", "org_admin", "social_worker"),
}
PENDING_LISTS = {("GET", "/hours/entries")}
