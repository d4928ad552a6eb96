"""Who may do what with tickets: one table, read by the gateway's routes (the first
gate) and by the service. Pure values: no database, no broker."""

from __future__ import annotations

# Who may take each action. Residents act only on their own tickets (checked with the
# ticket in hand); "service" is work started inside the platform (timers).
STAFF = ("operator", "org_admin", "social_worker", "service")
ACTORS: dict[str, tuple[str, ...]] = {
    "assign": STAFF + ("team_lead",),
    "start": STAFF + ("team_lead", "volunteer"),
    "resolve": STAFF + ("team_lead", "volunteer"),
    # The resident confirms; an operator may record a confirmation given by phone.
    "confirm": ("resident", "operator", "service"),
    "escalate": STAFF + ("team_lead", "volunteer"),
    "reopen": ("resident", "operator", "service"),
    "cancel": ("resident", "operator", "org_admin", "service"),
}

# -- the gateway's routes ---------------------------------------------------------------------
ROUTE_STAFF = ("operator", "org_admin", "social_worker")
READERS = ROUTE_STAFF + ("auditor", "team_lead", "volunteer", "resident")
OPENERS = ROUTE_STAFF + ("team_lead", "volunteer", "resident")  # auditors read and change nothing
WORKERS = ROUTE_STAFF + ("team_lead", "volunteer")
CATEGORY_EDITORS = ("operator",)
REPORT_READERS = ROUTE_STAFF + ("auditor",)
DISPATCHERS = ROUTE_STAFF + ("team_lead",)
CONFIRMERS = ("resident", "operator")
CANCELLERS = ("resident", "operator", "org_admin")

# -- residents' voice: suggestions and mediation cases (routes and service alike; the
# service also admits its own "service" account) -----------------------------------------
SUGGESTION_COLLECTORS = ROUTE_STAFF + ("team_lead", "volunteer", "resident")  # door to door, or a resident online
SUGGESTION_READERS = SUGGESTION_COLLECTORS + ("auditor", "fund_committee")  # a resident sees their own
SUGGESTION_HANDLERS = ROUTE_STAFF  # merge repeats, answer, act on them
MEDIATORS = ("operator", "social_worker")
CASE_READERS = MEDIATORS + ("org_admin", "auditor")
VOICE_REPORT_READERS = REPORT_READERS
