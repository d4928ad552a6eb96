"""The activities rules: a sequence of sign-ups and cancellations never confirms more
than the capacity and always fills a freed place from the front of the waiting list;
attendance is whole minutes within the activity; codes expire; only the organiser's side
runs an activity; a volunteer qualifies only with every required skill."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from services.activities.permissions import ORGANISERS, SYSTEM_ROLES
from services.activities.rules import (
    attended,
    code_problem,
    first_in_line,
    missing_skills,
    place_for,
    run_problem,
    skills_problem,
    window_problem,
)

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)  # 09:00 in the district


@dataclass
class Seat:
    volunteer: int
    position: int
    status: str


@dataclass(frozen=True)
class Who:
    subject: str
    role: str
    organisation_id: str | None


@given(st.integers(1, 10), st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=80))
def test_confirmed_never_exceeds_capacity_and_the_front_of_the_line_moves_up(
    capacity: int, steps: list[tuple[bool, int]]
) -> None:
    seats: dict[int, Seat] = {}
    position = 0
    for signing_up, volunteer in steps:
        held = {v: s for v, s in seats.items() if s.status in ("confirmed", "waiting")}
        confirmed = sum(1 for s in held.values() if s.status == "confirmed")
        if signing_up and volunteer not in held:
            position += 1
            seats[volunteer] = Seat(volunteer, position, place_for(confirmed, capacity))
        elif not signing_up and volunteer in held:
            freed = held[volunteer].status == "confirmed"
            held[volunteer].status = "cancelled"
            waiting = [s for s in held.values() if s.status == "waiting"]
            nxt = first_in_line(waiting)
            if freed and isinstance(nxt, Seat):
                assert nxt.position == min(s.position for s in waiting)
                nxt.status = "confirmed"
        statuses = [s.status for s in seats.values()]
        assert statuses.count("confirmed") <= capacity
        if statuses.count("waiting"):
            assert statuses.count("confirmed") == capacity  # nobody waits while a place is free


@given(st.integers(-120, 300), st.one_of(st.none(), st.integers(-60, 400)))
def test_attendance_is_whole_minutes_within_the_activity(check_in: int, check_out: int | None) -> None:
    ends = T0 + timedelta(hours=3)
    span = attended(
        T0 + timedelta(minutes=check_in, seconds=17),
        None if check_out is None else T0 + timedelta(minutes=check_out),
        T0,
        ends,
    )
    if span is not None:
        assert T0 <= span.started_at < span.ended_at <= ends
        assert span.minutes == (span.ended_at - span.started_at).total_seconds() // 60 >= 1
        assert span.started_at.second == 0


def test_an_activity_stays_within_one_local_day() -> None:
    assert window_problem(T0, T0 + timedelta(hours=2)) is None
    assert window_problem(T0, T0) is not None
    late = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)  # 23:00 in the district
    assert window_problem(late, late + timedelta(hours=1)) is None  # ends at midnight
    assert window_problem(late, late + timedelta(hours=2)) is not None


def test_a_code_is_accepted_only_as_handed_out_and_before_it_expires() -> None:
    expires = T0 + timedelta(minutes=15)
    assert code_problem("123456", "123456", expires, T0) is None
    assert code_problem("123457", "123456", expires, T0) is not None
    assert code_problem("123456", "123456", expires, expires) is not None
    assert code_problem("123456", None, None, T0) is not None


def test_only_the_organisers_side_runs_an_activity() -> None:
    org = "org-1"
    assert run_problem(Who("li", "volunteer", None), org, "li", ORGANISERS, SYSTEM_ROLES) is None
    assert run_problem(Who("wang", "org_admin", org), org, "li", ORGANISERS, SYSTEM_ROLES) is None
    assert run_problem(Who("op", "operator", None), org, "li", ORGANISERS, SYSTEM_ROLES) is None
    assert run_problem(Who("zhao", "org_admin", "org-2"), org, "li", ORGANISERS, SYSTEM_ROLES) is not None
    assert run_problem(Who("zhou", "verifier", org), org, "li", ORGANISERS, SYSTEM_ROLES) is not None


SKILL = st.sampled_from(("first_aid", "child_protection", "elder_care", "mediation", "tutoring"))


@given(st.sets(SKILL), st.sets(SKILL))
def test_a_volunteer_qualifies_only_with_every_required_skill(required: set[str], held: set[str]) -> None:
    problem = skills_problem(sorted(required), sorted(held))
    assert (problem is None) == required.issubset(held)
    assert missing_skills(required, held) == sorted(required - held)
    if problem is not None:
        assert set(problem.details) == {"required_skills"}  # the 4xx names the field


def test_no_required_skill_lets_anyone_sign_up_and_a_missing_one_is_named() -> None:
    assert skills_problem([], []) is None
    assert skills_problem(["first_aid"], ["first_aid", "elder_care"]) is None
    problem = skills_problem(["child_protection", "first_aid"], ["first_aid"])
    assert problem is not None and problem.details == {"required_skills": ["lacks child_protection"]}
