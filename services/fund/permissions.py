"""Who may do what with the fund: one table, read by the gateway's routes (the first
gate) and by the service (``access.py`` adds the object-level rules). Pure values."""

from __future__ import annotations

# -- the service's own checks ---------------------------------------------------------------
TRUSTED = ("operator", "service")  # the local operator and work started inside the platform
REGISTRARS = TRUSTED + ("org_admin",)
REQUESTERS = TRUSTED + ("org_admin", "social_worker", "team_lead", "fund_committee")
DECIDERS = TRUSTED + ("fund_committee",)

# -- the gateway's routes ---------------------------------------------------------------------
WRITERS = ("operator", "org_admin")
REPORTERS = ("operator", "enterprise_rep")
COMMITTEE = ("operator", "fund_committee")
ROUTE_REQUESTERS = ("operator", "org_admin", "social_worker", "team_lead", "fund_committee")
READERS = ("operator", "org_admin", "auditor", "fund_committee", "social_worker", "enterprise_rep")
LEDGER_READERS = ("operator", "auditor", "fund_committee")
