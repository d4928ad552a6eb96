"""Who may do what in the fund: the one table that both the gateway's routes and the
service's own checks (``access``) read, so a rule is written once. Object-level rules
(whose request, which enterprise) live in ``access`` on top of these roles."""

from __future__ import annotations

WRITERS = ("operator", "org_admin")  # register enterprises
REPORTERS = ("operator", "enterprise_rep")  # report and amend profits
REQUESTERS = ("operator", "org_admin", "social_worker", "team_lead", "fund_committee")
APPROVERS = ("fund_committee",)  # only an authenticated member approves; nobody records it for them
PAYERS = ("operator", "fund_committee")  # a person other than the requester and every approver
DECIDERS = ("operator", "fund_committee")  # reject a request (moves no money)
READERS = ("operator", "org_admin", "auditor", "fund_committee", "social_worker", "enterprise_rep")
LEDGER_READERS = ("operator", "auditor", "fund_committee")
