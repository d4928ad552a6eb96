"""The rules of projects and activities, over plain values: who may run an activity and
sign up for it (their role, and the skills it requires), where a sign-up goes (a place or the waiting list), who moves up when one
is cancelled, what a check-in code accepts, how many minutes an attendee served, and a
project's indicators. No database, no broker: the store loads, the operations apply. A
rule that refuses returns a :class:`Problem`; the caller raises the error its layer speaks."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from services.district import LOCAL_TIME, Problem

DAY_MINUTES = 24 * 60
CODE_LIFETIME = timedelta(minutes=15)  # a check-in code handed out at the door
CODE_DIGITS = 6
HELD = ("confirmed", "waiting")  # sign-ups that still hold a place or a turn


class Caller(Protocol):
    """Who asks (the kit's Identity, or any value with these attributes)."""

    @property
    def subject(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def organisation_id(self) -> str | None: ...


def aware(instant: datetime) -> datetime:
    """A stored time as UTC-aware (SQLite hands back naive UTC)."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=timezone.utc)


def utc(instant: datetime) -> datetime:
    """A time to store: in UTC (SQLite keeps the wall-clock time and drops the offset)."""
    return aware(instant).astimezone(timezone.utc)


# -- who ---------------------------------------------------------------------------------
def acts_for(caller: Caller, organisation_id: str, roles: Sequence[str], system_roles: Sequence[str]) -> bool:
    """Whether the caller acts for the organisation in one of ``roles`` (system roles act for any)."""
    return caller.role in system_roles or (caller.role in roles and caller.organisation_id == organisation_id)


def sign_ups_reach(
    caller: Caller, organisation_id: str, organiser: str, staff: Sequence[str], district: Sequence[str]
) -> tuple[bool, Problem | None]:
    """Who signed up is the organising organisation's business: the district's roles and
    the organiser or staff of that organisation see every sign-up (``(True, None)``); a
    volunteer or team lead sees only their own (``(False, None)``); anyone else none."""
    if caller.role in district or caller.subject == organiser or acts_for(caller, organisation_id, staff, ()):
        return True, None
    if caller.role in ("volunteer", "team_lead"):
        return False, None
    return False, Problem(
        "only the organising organisation reads an activity's sign-ups",
        {"activity_id": ["organised by another organisation"]},
    )


def run_problem(
    caller: Caller, organisation_id: str, organiser: str, roles: Sequence[str], system_roles: Sequence[str]
) -> Problem | None:
    """Only the organiser, or staff of the organising organisation, runs an activity."""
    if caller.subject == organiser or acts_for(caller, organisation_id, roles, system_roles):
        return None
    return Problem(
        "only the organiser or the organising organisation runs this activity",
        {"activity_id": ["organised by another organisation"]},
    )


def sign_up_problem(
    caller: Caller, volunteer_id: str, open_to: Sequence[str], for_others: Sequence[str]
) -> Problem | None:
    """Volunteers sign themselves up if the activity is open to their role; staff of
    ``for_others`` may sign anyone up (a sign-up taken by phone)."""
    if caller.role in for_others:
        return None
    if caller.subject != volunteer_id:
        return Problem("volunteers sign up only themselves", {"volunteer_id": ["not you"]})
    if caller.role not in open_to:
        return Problem(f"this activity is not open to a {caller.role}", {"volunteer_id": ["may not sign up"]})
    return None


def missing_skills(required: Iterable[str], held: Iterable[str]) -> list[str]:
    """The required skill codes a volunteer holding ``held`` lacks, sorted: a volunteer
    qualifies when the list is empty (every required skill held; none required, anyone)."""
    return sorted(set(required) - set(held))


def skills_problem(required: Iterable[str], held: Iterable[str]) -> Problem | None:
    """A sign-up is refused to a volunteer without every skill the activity requires."""
    missing = missing_skills(required, held)
    if not missing:
        return None
    return Problem(
        f"this activity requires skills the volunteer lacks: {', '.join(missing)}",
        {"required_skills": [f"lacks {skill}" for skill in missing]},
    )


# -- the activity ---------------------------------------------------------------------------
def window_problem(starts_at: datetime, ends_at: datetime) -> Problem | None:
    """An activity ends after it starts, on the same local day (hours are credited per day)."""
    if ends_at <= starts_at:
        return Problem("an activity ends after it starts", {"ends_at": ["must be after starts_at"]})
    if starts_at.astimezone(LOCAL_TIME).date() != (ends_at - timedelta(microseconds=1)).astimezone(LOCAL_TIME).date():
        return Problem("an activity starts and ends on the same day", {"ends_at": ["must be on the day it starts"]})
    return None


def attendance_problem(starts_at: datetime, ends_at: datetime, minutes: Iterable[int]) -> Problem | None:
    """A past activity's attendance: nobody is credited longer than the activity lasted."""
    lasted = int((ends_at - starts_at).total_seconds() // 60)
    if any(m > lasted for m in minutes):
        return Problem("an attendee served longer than the activity", {"attendees": [f"more than {lasted} minutes"]})
    return None


def open_problem(state: str) -> Problem | None:
    if state != "published":
        return Problem(f"the activity is {state}", {"activity_id": [f"is {state}"]})
    return None


def place_for(confirmed: int, capacity: int) -> str:
    """A new sign-up's status: a place while one is free, else the waiting list."""
    return "confirmed" if confirmed < capacity else "waiting"


class Waiting(Protocol):
    @property
    def position(self) -> int: ...


def first_in_line(waiting: Iterable[Waiting]) -> Waiting | None:
    """Who moves up when a place frees: the earliest sign-up still waiting."""
    return min(waiting, key=lambda s: s.position, default=None)


def new_code() -> str:
    """A short numeric check-in code."""
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def code_problem(given: str, code: str | None, expires_at: datetime | None, now: datetime) -> Problem | None:
    """A check-in code is accepted only as handed out and before it expires."""
    if code is None or expires_at is None or now >= aware(expires_at):
        return Problem("no check-in code is valid now; ask the organiser for a new one", {"code": ["expired"]})
    if not secrets.compare_digest(given, code):
        return Problem("the check-in code is wrong", {"code": ["wrong code"]})
    return None


@dataclass(frozen=True)
class Span:
    """The time an attendee is credited: check-in to check-out, within the activity."""

    started_at: datetime
    ended_at: datetime
    minutes: int


def attended(
    checked_in_at: datetime, checked_out_at: datetime | None, starts_at: datetime, ends_at: datetime
) -> Span | None:
    """Whole minutes from check-in (not before the start) to check-out (the end when
    nobody checked them out; never after it); ``None`` under one minute."""
    starts_at, ends_at = aware(starts_at), aware(ends_at)
    start = max(aware(checked_in_at), starts_at).replace(second=0, microsecond=0)
    end = min(aware(checked_out_at) if checked_out_at else ends_at, ends_at).replace(second=0, microsecond=0)
    minutes = int((end - start).total_seconds() // 60)
    if minutes < 1:
        return None
    return Span(start, end, min(minutes, DAY_MINUTES))


# -- indicators -----------------------------------------------------------------------------
class Held(Protocol):
    """A closed activity as the indicators count it."""

    @property
    def id(self) -> str: ...
    @property
    def beneficiary_visits(self) -> int: ...


@dataclass(frozen=True)
class Indicators:
    activities: int
    beneficiary_visits: int
    volunteers: int
    attended_minutes: int  # credited at close, whether or not the hour ledger verified them
    verified_minutes: int


def indicators(held: Sequence[Held], attendance: Iterable[tuple[str, int]], verified_minutes: int) -> Indicators:
    """A project's (or an organisation's) outcome, computed from what happened, never
    typed in. ``attendance``: (volunteer, minutes) per attendee of each held activity."""
    volunteers: set[str] = set()
    minutes = 0
    for volunteer, served in attendance:
        volunteers.add(volunteer)
        minutes += served
    return Indicators(
        activities=len(held),
        beneficiary_visits=sum(a.beneficiary_visits for a in held),
        volunteers=len(volunteers),
        attended_minutes=minutes,
        verified_minutes=verified_minutes,
    )


def local_day(instant: datetime) -> date:
    return aware(instant).astimezone(LOCAL_TIME).date()


def month_of(instant: datetime) -> str:
    return aware(instant).astimezone(LOCAL_TIME).strftime("%Y-%m")
