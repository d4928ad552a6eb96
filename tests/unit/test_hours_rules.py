"""The hour ledger's rules: 24 hours a day, overlaps, sheets, totals, star levels and
the order-independence of a ticket's events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.district import Problem
from services.hours import permissions, rules
from services.hours.permissions import SYSTEM_ROLES, VERIFIERS

DAY = date(2026, 11, 29)
STARS = (6000, 18000, 36000, 60000, 90000)  # the default thresholds, in minutes


@dataclass(frozen=True)
class Slot:
    id: str
    minutes: int
    start_minute: int | None = None
    end_minute: int | None = None


@dataclass
class Totals:
    pending_minutes: int = 0
    verified_minutes: int = 0


@dataclass(frozen=True)
class Caller:
    subject: str
    role: str
    organisation_id: str | None = None


minutes = st.integers(1, rules.DAY_MINUTES)


@given(st.lists(minutes, max_size=30))
def test_a_day_never_holds_more_than_24_hours(requests: list[int]) -> None:
    credited: list[Slot] = []
    for index, wanted in enumerate(requests):
        if rules.day_problem(credited, DAY, wanted, None, None) is None:
            credited.append(Slot(str(index), wanted))
        else:
            assert sum(s.minutes for s in credited) + wanted > rules.DAY_MINUTES
    assert sum(s.minutes for s in credited) <= rules.DAY_MINUTES


@given(st.integers(0, 1439), st.integers(1, 600), st.integers(0, 1439), st.integers(1, 600))
def test_overlap_is_refused_both_ways_and_only_when_intervals_meet(a: int, la: int, b: int, lb: int) -> None:
    a_end, b_end = min(a + la, 1440), min(b + lb, 1440)
    first = [Slot("a", a_end - a, a, a_end)]
    second = [Slot("b", b_end - b, b, b_end)]
    one = rules.day_problem(first, DAY, b_end - b, b, b_end)
    other = rules.day_problem(second, DAY, a_end - a, a, a_end)
    meets = a < b_end and b < a_end
    assert (one is not None) == meets == (other is not None)
    if meets:
        assert one is not None and one[0] == "start_time"


def test_excluded_entries_do_not_count() -> None:
    full = [Slot("x", rules.DAY_MINUTES, 0, 1440)]
    assert rules.day_problem(full, DAY, 60, 60, 120) == (
        "minutes",
        f"would credit 1500 minutes on {DAY}; at most 1440 a day",
    )
    assert rules.day_problem(full, DAY, 60, 60, 120, exclude=["x"]) is None


@given(st.integers(0, 200_000), st.integers(0, 200_000), st.booleans())
def test_star_levels_grow_with_verified_time(low: int, high: int, selected: bool) -> None:
    low, high = min(low, high), max(low, high)
    assert rules.star_level(low, selected, STARS) <= rules.star_level(high, selected, STARS)
    level = rules.star_level(high, selected, STARS)
    assert 0 <= level <= len(STARS)
    assert level == 0 or high >= STARS[level - 1]


@given(st.integers(0, 200_000))
def test_the_fifth_star_needs_the_selection(verified: int) -> None:
    assert rules.star_level(verified, False, STARS) <= 4
    assert rules.star_level(verified, True, STARS) == 5 or verified < STARS[4]


@given(st.integers(0, 5), st.integers(0, 5))
def test_levels_reached_are_each_level_crossed_upwards(previous: int, level: int) -> None:
    reached = rules.levels_reached(previous, level)
    assert reached == ([] if level <= previous else list(range(previous + 1, level + 1)))


statuses = st.sampled_from(["pending", "verified", "rejected", "void", "corrected", "requested"])


@given(st.lists(st.tuples(st.integers(1, 1440), st.lists(statuses, min_size=1, max_size=6)), max_size=20))
def test_totals_follow_every_status_change(histories: list[tuple[int, list[str]]]) -> None:
    total = Totals()
    for entry_minutes, path in histories:
        rules.count(total, path[0], entry_minutes)
        for before, after in zip(path, path[1:]):
            rules.move(total, entry_minutes, before, after)
    assert total.pending_minutes == sum(m for m, path in histories if path[-1] == "pending")
    assert total.verified_minutes == sum(m for m, path in histories if path[-1] == "verified")


def test_sheet_lines_of_one_volunteer_may_not_overlap_or_exceed_a_day() -> None:
    line = rules.SheetLine
    assert rules.sheet_problem([line("v", 60, 480, 540), line("v", 60, 540, 600)]) is None
    overlap = rules.sheet_problem([line("v", 60, 480, 540), line("w", 60, 480, 540), line("v", 30, 510, 540)])
    assert overlap is not None and overlap.details == {"entries": {2: {"start_time": ["overlaps entries[0]"]}}}
    long = rules.sheet_problem([line("v", 1000, None, None), line("v", 441, None, None)])
    assert long is not None and 1 in long.details["entries"]  # type: ignore[operator]  # details are typed as object


@given(st.integers(0, 1439))
def test_clock_text_and_clock_minutes_are_inverse(minute: int) -> None:
    assert rules.clock_minutes(rules.clock_text(minute) or "") == minute


def test_served_on_is_the_local_day_of_the_resolution() -> None:
    assert rules.served_on("2026-11-29T15:59:00Z") == date(2026, 11, 29)
    assert rules.served_on("2026-11-29T16:00:00Z") == date(2026, 11, 30)  # midnight in UTC+8
    assert rules.served_on("2026-11-29T10:00:00") == date(2026, 11, 29)  # no zone: local time


def test_only_a_verifier_of_the_recording_organisation_decides() -> None:
    def problem(caller: Caller) -> Problem | None:
        return rules.decision_problem(caller, "vol-1", "org-1", VERIFIERS, SYSTEM_ROLES)

    assert problem(Caller("u", "verifier", "org-1")) is None
    assert problem(Caller("u", "operator")) is None
    assert problem(Caller("u", "verifier", "org-2")) is not None
    assert problem(Caller("u", "volunteer", "org-1")) is not None
    own = problem(Caller("vol-1", "verifier", "org-1"))
    assert own is not None and own.message == "nobody verifies their own hours"


T0 = datetime(2026, 11, 29, 9, tzinfo=timezone.utc)
moments = st.none() | st.integers(-3, 3).map(lambda h: T0 + timedelta(hours=h))


@given(moments, moments, moments, st.integers(-3, 3))
def test_a_resolution_follows_what_was_already_decided_for_a_later_moment(
    confirmed: datetime | None, reopened: datetime | None, cancelled: datetime | None, hour: int
) -> None:
    occurred = T0 + timedelta(hours=hour)
    outcome = rules.on_resolution(rules.TicketMoments(confirmed, reopened, cancelled), occurred)
    if cancelled is not None and cancelled >= occurred:
        assert outcome == "void"
    elif confirmed is not None and confirmed >= occurred and not (reopened is not None and reopened >= confirmed):
        assert outcome == "verify"
    else:
        assert outcome is None


def test_naive_moments_count_as_utc() -> None:
    assert rules.after(T0.replace(tzinfo=None), T0) and rules.after(T0, T0.replace(tzinfo=None))
    assert not rules.after(None, T0) and rules.after(T0, None)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 600)), max_size=10))
def test_a_volunteer_named_twice_is_credited_the_sum(items: list[tuple[str, int]]) -> None:
    summed = rules.minutes_by_volunteer([{"volunteer_id": v, "minutes": m} for v, m in items])
    assert summed == {v: sum(m for w, m in items if w == v) for v, _ in items}


def test_a_line_without_minutes_takes_its_interval() -> None:
    assert rules.line_minutes(None, 480, 540) == 60 and rules.line_minutes(30, 480, 540) == 30
    with pytest.raises(ValueError):
        rules.line_minutes(None, None, 540)


def test_a_volunteers_hours_are_theirs_their_organisations_and_the_districts() -> None:
    from_a = ("org-a", None)
    assert permissions.reads_volunteer(Caller("v1", "volunteer"), "v1", ())
    assert permissions.reads_volunteer(Caller("v1", "team_lead"), "v1", ())
    assert not permissions.reads_volunteer(Caller("v2", "volunteer"), "v1", from_a)
    assert not permissions.reads_volunteer(Caller("v2", "team_lead", "org-a"), "v1", from_a)  # a lead is no staff
    for role in ("operator", "auditor", "service"):
        assert permissions.reads_volunteer(Caller("x", role), "v1", ())
    for role in ("org_admin", "verifier", "social_worker"):
        assert permissions.reads_volunteer(Caller("x", role, "org-a"), "v1", from_a)
        assert permissions.reads_volunteer(Caller("x", role, "org-a"), "v1", (None, "org-a"))  # recorded by them
        assert not permissions.reads_volunteer(Caller("x", role, "org-b"), "v1", from_a)
        assert not permissions.reads_volunteer(Caller("x", role), "v1", (None, None))  # no org claim: no match
    assert not permissions.reads_volunteer(Caller("x", "resident", "org-a"), "v1", from_a)


def test_entry_lists_are_scoped_to_the_caller() -> None:
    scope = permissions.entry_scope
    assert scope(Caller("x", "auditor"), "v1") == permissions.EntryScope(everyone=True)
    assert scope(Caller("x", "verifier", "org-a"), "v1") == permissions.EntryScope(organisation_id="org-a")
    assert scope(Caller("x", "org_admin"), None) is None
    assert scope(Caller("v1", "volunteer"), None) == scope(Caller("v1", "volunteer"), "v1")
    assert scope(Caller("v1", "volunteer"), None) == permissions.EntryScope(volunteer_id="v1")
    assert scope(Caller("v1", "team_lead"), "v2") is None
