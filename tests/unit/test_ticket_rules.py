"""The ticket lifecycle table: every walk through it stays inside it, closed tickets
accept nothing, and an illegal action names the legal ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.tickets.permissions import ACTORS
from services.tickets.rules import (
    ACTIONS,
    CLOSED,
    EVENT_OF_ACTION,
    OPEN,
    STATES,
    TRANSITIONS,
    IllegalTransition,
    allowed_actions,
    next_state,
)


def test_the_table_covers_every_state_and_only_known_actions() -> None:
    assert set(TRANSITIONS) == set(STATES)
    assert all(set(moves) <= set(ACTIONS) and set(moves.values()) <= set(STATES) for moves in TRANSITIONS.values())
    assert set(EVENT_OF_ACTION) == set(ACTIONS) == set(ACTORS)
    assert set(OPEN) | set(CLOSED) == set(STATES) and not set(OPEN) & set(CLOSED)


@given(st.lists(st.sampled_from(ACTIONS), max_size=40))
def test_any_sequence_of_actions_stays_in_the_table(actions: list[str]) -> None:
    state = "opened"
    for action in actions:
        if action in allowed_actions(state):
            state = next_state(state, action)
        else:
            with pytest.raises(IllegalTransition) as refused:
                next_state(state, action)
            assert refused.value.details["allowed"] == allowed_actions(state)
        assert state in STATES
        if state in CLOSED:
            assert allowed_actions(state) == []


@pytest.mark.parametrize("state", CLOSED)
def test_a_closed_ticket_accepts_nothing(state: str) -> None:
    for action in ACTIONS:
        with pytest.raises(IllegalTransition, match="none \\(the ticket is closed\\)"):
            next_state(state, action)


def test_every_open_state_can_still_be_closed() -> None:
    for start in OPEN:
        seen, frontier = {start}, [start]
        while frontier:
            state = frontier.pop()
            for target in TRANSITIONS[state].values():
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen & set(CLOSED), start
