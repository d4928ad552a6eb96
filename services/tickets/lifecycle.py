"""The ticket lifecycle as data: which action moves a ticket from which state to which.

Every rule about legal transitions lives in ``TRANSITIONS``; the domain asks
:func:`next_state` and the tests walk the whole table, legal and illegal pairs alike."""

from __future__ import annotations

from yilin.errors import Conflict

STATES = ("opened", "assigned", "in_progress", "resolved", "confirmed", "escalated", "reopened", "cancelled")
ACTIONS = ("assign", "start", "resolve", "confirm", "escalate", "reopen", "cancel")
CLOSED = ("confirmed", "cancelled")
OPEN = tuple(s for s in STATES if s not in CLOSED)

# state → {action: next state}. Re-assigning an assigned ticket to another team is a
# transition too, so it is kept in the history like any other.
TRANSITIONS: dict[str, dict[str, str]] = {
    "opened": {"assign": "assigned", "escalate": "escalated", "cancel": "cancelled"},
    "assigned": {"assign": "assigned", "start": "in_progress", "escalate": "escalated", "cancel": "cancelled"},
    "in_progress": {"resolve": "resolved", "escalate": "escalated", "cancel": "cancelled"},
    "resolved": {"confirm": "confirmed", "reopen": "reopened"},
    "reopened": {"assign": "assigned", "start": "in_progress", "escalate": "escalated", "cancel": "cancelled"},
    # An escalated ticket waits for a professional team; a social worker assigns it.
    "escalated": {"assign": "assigned", "cancel": "cancelled"},
    "confirmed": {},
    "cancelled": {},
}

# The event announcing each action (re-assignment announces ticket.assigned again).
EVENT_OF_ACTION = {"assign": "ticket.assigned", "start": "ticket.started", "resolve": "ticket.resolved",
                   "confirm": "ticket.confirmed", "escalate": "ticket.escalated", "reopen": "ticket.reopened",
                   "cancel": "ticket.cancelled"}


def allowed_actions(state: str) -> list[str]:
    """The actions a ticket in ``state`` accepts."""
    return sorted(TRANSITIONS[state])


def next_state(state: str, action: str) -> str:
    """The state after ``action``; :class:`Conflict` (409) naming the allowed actions if
    the transition is illegal."""
    target = TRANSITIONS[state].get(action)
    if target is None:
        allowed = allowed_actions(state)
        listed = ", ".join(allowed) if allowed else "none (the ticket is closed)"
        raise Conflict(f"a ticket in state {state} cannot {action}; allowed: {listed}",
                       {"state": [f"is {state}"], "allowed": allowed})
    return target


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
