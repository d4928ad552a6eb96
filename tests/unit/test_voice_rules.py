"""Residents' voice rules, pure: the answer deadline, merging, closing a mediation case,
satisfaction weighted by the people each party speaks for, and masking."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.tickets.voice_rules import (
    BENEFICIARY_GROUPS,
    PartyRating,
    VoiceRuleError,
    answer_due,
    answered_on_time,
    case_within,
    check_close,
    check_link,
    check_merge,
    mask_name,
    month_of,
    overdue,
    reach,
    satisfaction_rate,
    within,
)

NOW = datetime(2026, 12, 4, 20, 0, tzinfo=timezone.utc)


def test_an_answer_is_due_within_a_week_and_late_ones_are_overdue_once() -> None:
    due = answer_due(NOW)
    assert due - NOW == timedelta(days=7)
    assert answered_on_time(due, due) and not answered_on_time(due + timedelta(seconds=1), due)
    assert not answered_on_time(None, due)
    assert overdue("open", due, False, due + timedelta(seconds=1))
    assert not overdue("open", due, True, due + timedelta(days=1))  # escalated already
    assert not overdue("answered", due, False, due + timedelta(days=1))
    assert not overdue("open", due, False, due)


@pytest.mark.parametrize(
    ("source", "source_state", "target", "target_state", "field"),
    [
        ("a", "open", "a", "open", "into_id"),
        ("a", "merged", "b", "open", "suggestion_id"),
        ("a", "open", "b", "merged", "into_id"),
    ],
)
def test_merging_refuses_itself_and_merged_ones(
    source: str, source_state: str, target: str, target_state: str, field: str
) -> None:
    with pytest.raises(VoiceRuleError) as refused:
        check_merge(source, source_state, target, target_state)
    assert refused.value.field == field
    check_merge("a", "answered", "b", "open")  # an answered repeat still joins the first


def test_a_merged_suggestion_is_acted_on_through_the_one_it_joined() -> None:
    with pytest.raises(VoiceRuleError):
        check_link("merged")
    check_link("open")
    check_link("answered")


def test_satisfaction_is_weighted_by_the_people_a_party_speaks_for() -> None:
    assert satisfaction_rate([PartyRating(1, 2), PartyRating(40, 5), PartyRating(1, 4)]) == round(41 / 42, 4)
    assert satisfaction_rate([PartyRating(3, None), PartyRating(1, 3)]) == 0.0  # unrated parties do not count
    assert satisfaction_rate([PartyRating(3, None)]) is None


def test_a_case_closes_once_with_a_known_outcome_rated_by_its_parties() -> None:
    check_close("open", "agreement", 2, {1: 5, 2: 4})
    check_close("open", "withdrawn", 2, {})
    for state, outcome, ratings, field in (
        ("closed", "agreement", {}, "state"),
        ("open", "shrug", {}, "outcome"),
        ("open", "referral", {3: 5}, "satisfaction"),
    ):
        with pytest.raises(VoiceRuleError) as refused:
            check_close(state, outcome, 2, ratings)
        assert refused.value.field == field


def test_names_are_masked_and_months_are_utc() -> None:
    assert mask_name("张三丰") == "张**" and mask_name("李") == "李*" and mask_name(" ") == ""
    assert month_of(datetime(2026, 11, 30, 23, 30)) == "2026-11"
    assert month_of(datetime(2026, 12, 1, 1, 0, tzinfo=timezone(timedelta(hours=8)))) == "2026-11"
    assert len(set(BENEFICIARY_GROUPS)) == 4


def test_who_sees_which_suggestion() -> None:
    assert within(reach("auditor", "a"), "c1", "v1", set())
    staff = reach("social_worker", "sw", ("c1",))
    assert within(staff, "c1", "v1", set()) and not within(staff, "c2", "v1", set())
    assert within(reach("volunteer", "v1"), "c2", "v1", set()) and not within(
        reach("volunteer", "v2"), "c2", "v1", set()
    )
    assert within(reach("resident", "r1"), "c2", "v1", {"r1"}) and not within(
        reach("resident", "r2"), "c2", "v1", {"r1"}
    )
    assert case_within(reach("social_worker", "sw", ("c1",)), "c1", "other")
    assert case_within(reach("social_worker", "sw"), "c2", "sw") and not case_within(
        reach("social_worker", "sw"), "c2", "x"
    )
