"""The ticket lifecycle as data: which action moves a ticket from which state to which.

Every rule about legal transitions lives in ``TRANSITIONS``; the domain asks
:func:`next_state` and the tests walk the whole table, legal and illegal pairs alike.
Pure values: no database, no broker (who may act is in ``permissions.py``)."""

from __future__ import annotations

from datetime import datetime, timezone

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
EVENT_OF_ACTION = {
    "assign": "ticket.assigned",
    "start": "ticket.started",
    "resolve": "ticket.resolved",
    "confirm": "ticket.confirmed",
    "escalate": "ticket.escalated",
    "reopen": "ticket.reopened",
    "cancel": "ticket.cancelled",
}


def allowed_actions(state: str) -> list[str]:
    """The actions a ticket in ``state`` accepts."""
    return sorted(TRANSITIONS[state])


class IllegalTransition(ValueError):
    """An action the ticket's state does not accept (the service answers 409)."""

    def __init__(self, message: str, details: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def next_state(state: str, action: str) -> str:
    """The state after ``action``; :class:`IllegalTransition` naming the allowed actions
    if the transition is illegal."""
    target = TRANSITIONS[state].get(action)
    if target is None:
        allowed = allowed_actions(state)
        listed = ", ".join(allowed) if allowed else "none (the ticket is closed)"
        raise IllegalTransition(
            f"a ticket in state {state} cannot {action}; allowed: {listed}",
            {"state": [f"is {state}"], "allowed": allowed},
        )
    return target


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value
