"""Who may do what in the registry: one table, read by the gateway's routes (the first
gate) and by the service (``access.py`` adds the object-level rules). Pure values."""

from __future__ import annotations

# -- the service's own checks ---------------------------------------------------------------
SERVICE = ("service",)
OPERATORS = ("operator",) + SERVICE
MANAGERS = OPERATORS + ("org_admin",)
MEMBER_EDITORS = MANAGERS + ("team_lead",)

# -- the gateway's routes ---------------------------------------------------------------------
PLACE_EDITORS = ("operator",)
ROUTE_MANAGERS = ("operator", "org_admin")
ROUTE_MEMBER_EDITORS = ROUTE_MANAGERS + ("team_lead",)
READERS = ROUTE_MANAGERS + ("auditor", "social_worker", "team_lead", "verifier", "fund_committee")
VOLUNTEER_READERS = READERS + ("volunteer",)
