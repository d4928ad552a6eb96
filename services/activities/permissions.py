"""Who may do what with projects and activities: one table, read by the gateway's routes
(the first gate) and by the service. Pure values: no database, no broker."""

from __future__ import annotations

# -- the service's own checks ---------------------------------------------------------------
SYSTEM_ROLES = ("operator", "service")  # act for any organisation
# Publish and run (check in, close) an activity for their own organisation.
ORGANISERS = ("org_admin", "social_worker", "team_lead")
PROJECT_LEADERS = ("org_admin", "social_worker")  # set up a project their agency leads
AWARDERS = ("org_admin",)  # award commendations in their organisation's name
IMPORTERS = ("operator", "service")  # load an organisation's past activities in bulk
SIGN_UP_FOR_OTHERS = ("operator", "service")  # sign a volunteer up on their behalf (by phone)
SIGN_UP_READERS = ("org_admin", "social_worker", "verifier")  # their organisation's activities' sign-ups
SIGN_UP_DISTRICT = ("operator", "service", "auditor")  # every activity's sign-ups
DEFAULT_OPEN_TO = ("volunteer", "team_lead", "social_worker")  # who may sign up unless the activity says

# -- the gateway's routes ---------------------------------------------------------------------
ROUTE_STAFF = ("operator", "org_admin", "social_worker")
PUBLISHERS = ROUTE_STAFF + ("team_lead",)
READERS = ROUTE_STAFF + ("auditor", "team_lead", "volunteer", "verifier")
VOLUNTEERS = ("operator", "volunteer", "team_lead", "social_worker")
REPORT_READERS = ROUTE_STAFF + ("auditor", "verifier")
COMMENDERS = ("operator", "org_admin")
