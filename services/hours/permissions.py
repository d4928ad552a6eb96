"""Who may do what in the hours service: one table, read by the gateway's routes (the
first gate) and by the service (which never trusts its gateway more than itself).
Pure values: no database, no broker."""

from __future__ import annotations

# -- the service's own checks ---------------------------------------------------------------
SYSTEM_ROLES = ("operator", "service")  # act for any organisation
VERIFIERS = ("verifier", "org_admin")  # decide on hours recorded by their own organisation
SELECTORS = (*SYSTEM_ROLES, "org_admin")  # select volunteers for 5★
CERTIFIERS = ("org_admin", "verifier")  # certify hours recorded by their own organisation
# Certificates and national records: the volunteer reads their own; these district roles
# read anyone's; an organisation's staff read those of their own organisation's volunteers
# (and the certificates their organisation issued).
DISTRICT_READERS = ("operator", "service", "auditor")
ORGANISATION_STAFF = ("org_admin", "verifier", "social_worker")

# -- the gateway's routes ---------------------------------------------------------------------
RECORDERS = ("operator", "org_admin", "verifier", "social_worker", "team_lead")
DECIDERS = ("operator", "org_admin", "verifier")
READERS = DECIDERS + ("auditor", "social_worker", "team_lead", "volunteer")
CORRECTION_REQUESTERS = DECIDERS + ("volunteer",)
SELECTION_SETTERS = ("operator", "org_admin")
