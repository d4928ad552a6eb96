"""Every (state, action) pair of the transition table, legal and illegal, against the
real broker and PostgreSQL, through the tickets service's RPC interface."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import eventlet
import pytest

from services.tickets.rules import ACTIONS, EVENT_OF_ACTION, STATES, TRANSITIONS
from tests.harness import Stack
from tests.tickets.district import District, build, ticket_body
from yilin.errors import Conflict, Forbidden
from yilin.identity import Identity

# How to bring a fresh ticket into each state, as a path of actions from "opened".
PATHS: dict[str, list[str]] = {
    "opened": [],
    "assigned": ["assign"],
    "in_progress": ["assign", "start"],
    "resolved": ["assign", "start", "resolve"],
    "confirmed": ["assign", "start", "resolve", "confirm"],
    "reopened": ["assign", "start", "resolve", "reopen"],
    "escalated": ["escalate"],
    "cancelled": ["cancel"],
}


def payload(action: str, district: District) -> dict[str, Any]:
    return {
        "assign": {"team_id": district.team["id"], "volunteer_ids": district.members},
        "resolve": {"volunteers": [{"volunteer_id": district.members[0], "minutes": 45}]},
        "confirm": {"rating": 5},
    }.get(action, {"note": f"{action} in test"})


@pytest.fixture
def pg_stack(make_config: Callable[..., dict[str, Any]], container_factory: Any, pg_url: str) -> Stack:
    return Stack.start(("registry", "tickets"), make_config(pg_url), container_factory)


def test_the_path_table_reaches_every_state() -> None:
    for state, path in PATHS.items():
        current = "opened"
        for action in path:
            current = TRANSITIONS[current][action]
        assert current == state
    assert set(PATHS) == set(STATES) == set(TRANSITIONS)


def test_every_transition_legal_and_illegal(pg_stack: Stack, tap: Any) -> None:
    events = tap("tickets")
    with pg_stack.rpc("registry") as registry:
        district = build(registry)
    done: Counter[str] = Counter()
    with pg_stack.rpc("tickets") as tickets:

        def in_state(state: str) -> str:
            ticket = tickets.open_ticket(ticket_body(district))
            for action in PATHS[state]:
                ticket = getattr(tickets, action)(ticket["id"], payload(action, district))
                done[action] += 1
            assert ticket["state"] == state
            return ticket["id"]

        legal = illegal = 0
        for state in STATES:
            parked = in_state(state)  # illegal attempts must leave it untouched
            for action in ACTIONS:
                if action in TRANSITIONS[state]:
                    ticket_id = in_state(state)
                    before = len(tickets.ticket_history(ticket_id))
                    after = getattr(tickets, action)(ticket_id, payload(action, district))
                    done[action] += 1
                    assert after["state"] == TRANSITIONS[state][action], (state, action)
                    steps = tickets.ticket_history(ticket_id)
                    assert len(steps) == before + 1
                    assert (steps[-1]["action"], steps[-1]["from_state"], steps[-1]["to_state"]) == (
                        action,
                        state,
                        TRANSITIONS[state][action],
                    )
                    assert steps[-1]["actor"] == "service:test-harness" and steps[-1]["at"]
                    legal += 1
                else:
                    before = tickets.ticket_history(parked)
                    with pytest.raises(Conflict) as caught:
                        getattr(tickets, action)(parked, payload(action, district))
                    allowed = sorted(TRANSITIONS[state])
                    assert caught.value.fields["allowed"] == allowed, (state, action)
                    assert f"cannot {action}" in caught.value.message
                    for name in allowed:
                        assert name in caught.value.message
                    assert tickets.get_ticket(parked)["state"] == state
                    assert tickets.ticket_history(parked) == before
                    illegal += 1
        assert legal == sum(len(t) for t in TRANSITIONS.values())
        assert legal + illegal == len(STATES) * len(ACTIONS)

    # every legal move announced itself once, with the contract's event type
    for action, event_type in EVENT_OF_ACTION.items():
        assert len(events.wait_for(event_type, done[action])) == done[action], event_type
    eventlet.sleep(0.5)  # nothing more trickles in
    assert {t: len(events.of_type(t)) for t in EVENT_OF_ACTION.values()} == {
        EVENT_OF_ACTION[a]: n for a, n in done.items()
    }


def test_only_the_resident_confirms_their_ticket(pg_stack: Stack) -> None:
    with pg_stack.rpc("registry") as registry:
        district = build(registry)
    with pg_stack.rpc("tickets") as tickets:
        ticket = tickets.open_ticket(ticket_body(district))
        for action in PATHS["resolved"]:
            ticket = getattr(tickets, action)(ticket["id"], payload(action, district))
    for who in (Identity("resident-2", "resident"), Identity(district.members[0], "volunteer")):
        with pg_stack.rpc("tickets", who) as as_other:
            with pytest.raises(Forbidden):
                as_other.confirm(ticket["id"], {"rating": 1})
            with pytest.raises(Forbidden):
                as_other.reopen(ticket["id"], {})
    owner = Identity("resident-1", "resident")
    with pg_stack.rpc("tickets", owner) as as_owner:
        confirmed = as_owner.confirm(ticket["id"], {"rating": 4, "comment": "很及时"})
    assert confirmed["state"] == "confirmed" and confirmed["rating"] == 4 and not confirmed["auto_confirmed"]
