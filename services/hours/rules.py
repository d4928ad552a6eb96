"""The hour ledger's rules, over plain values: the 24-hours-a-day and overlap checks,
star levels, the running totals, who may decide on an entry, and how a ticket's events
settle its time. No database, no broker: the store loads what a rule reads, the ledger
applies what it decides. A rule that refuses returns a :class:`Problem`; the caller
turns it into the error its layer speaks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Protocol

from services.district import LOCAL_TIME, Problem

DAY_MINUTES = 24 * 60
LIVE = ("pending", "verified")  # statuses that occupy a volunteer's day
SELECTED_LEVEL = 5  # the star level that also needs a selection


class Slot(Protocol):
    """Time already credited on a volunteer's day (an entry, or a row of one)."""

    @property
    def id(self) -> str: ...
    @property
    def minutes(self) -> int: ...
    @property
    def start_minute(self) -> int | None: ...
    @property
    def end_minute(self) -> int | None: ...


class Totals(Protocol):
    """A volunteer's running totals (the store's locked row, or a plain value in tests)."""

    pending_minutes: int
    verified_minutes: int


# -- clock ------------------------------------------------------------------------------
def clock_minutes(value: str) -> int:
    """``"08:30"`` → 510."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def clock_text(minute: int | None) -> str | None:
    """510 → ``"08:30"``; ``None`` stays ``None``."""
    return None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


def local_clock(instant: datetime) -> tuple[date, int]:
    """The local day of an instant and its minute after local midnight."""
    local = instant.astimezone(LOCAL_TIME)
    return local.date(), local.hour * 60 + local.minute


def served_on(resolved_at: str) -> date:
    """The local day a ticket's time counts on: the day of its resolution."""
    instant = datetime.fromisoformat(resolved_at.replace("Z", "+00:00"))
    return (instant if instant.tzinfo else instant.replace(tzinfo=LOCAL_TIME)).astimezone(LOCAL_TIME).date()


# -- the day rules --------------------------------------------------------------------
def day_problem(
    credited: Iterable[Slot], day: date, minutes: int, start: int | None, end: int | None, exclude: Iterable[str] = ()
) -> tuple[str, str] | None:
    """``(field, message)`` if crediting ``minutes`` (from ``start`` to ``end``, when
    known) on ``day`` would exceed 24 h or overlap the live time already ``credited``
    that day; ``None`` if it fits. Entries named in ``exclude`` do not count."""
    excluded = set(exclude)
    rows = [r for r in credited if r.id not in excluded]
    used = sum(r.minutes for r in rows)
    if used + minutes > DAY_MINUTES:
        return "minutes", f"would credit {used + minutes} minutes on {day}; at most {DAY_MINUTES} a day"
    if start is not None and end is not None:
        for r in rows:
            if (
                r.start_minute is not None
                and r.end_minute is not None
                and r.start_minute < end
                and start < r.end_minute
            ):
                return "start_time", (
                    f"overlaps time already credited on {day} ({clock_text(r.start_minute)}–{clock_text(r.end_minute)})"
                )
    return None


@dataclass(frozen=True)
class SheetLine:
    """One line of an attendance sheet, its times in minutes of the day."""

    volunteer_id: str
    minutes: int
    start: int | None
    end: int | None


def sheet_problem(lines: Sequence[SheetLine]) -> Problem | None:
    """One volunteer may appear on a sheet more than once, but never for overlapping
    times or more than a day in all."""
    by_volunteer: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        by_volunteer.setdefault(line.volunteer_id, []).append(index)
    for indexes in by_volunteer.values():
        if sum(lines[i].minutes for i in indexes) > DAY_MINUTES:
            return Problem(
                "more than 24 hours for one volunteer on the sheet",
                {"entries": {indexes[-1]: {"minutes": [f"more than {DAY_MINUTES} minutes in the day"]}}},
            )
        for a in indexes:
            for b in indexes:
                la, lb = lines[a], lines[b]
                if (
                    a < b
                    and la.start is not None
                    and lb.start is not None
                    and la.end is not None
                    and lb.end is not None
                    and la.start < lb.end
                    and lb.start < la.end
                ):
                    return Problem(
                        "overlapping times for one volunteer on the sheet",
                        {"entries": {b: {"start_time": [f"overlaps entries[{a}]"]}}},
                    )
    return None


def line_minutes(minutes: int | None, start: int | None, end: int | None) -> int:
    """The minutes of a line: as given, else the length of its interval."""
    if minutes:
        return minutes
    if start is None or end is None:
        raise ValueError("a line needs minutes or both times")  # the request schema already insists
    return end - start


# -- totals and star levels -------------------------------------------------------------
def count(total: Totals, status: str | None, minutes: int) -> None:
    """Add ``minutes`` of an entry in ``status`` to the running totals (negative to take away)."""
    if status == "pending":
        total.pending_minutes += minutes
    elif status == "verified":
        total.verified_minutes += minutes


def move(total: Totals, minutes: int, from_status: str | None, to_status: str) -> None:
    """The totals after an entry of ``minutes`` moves from one status to another."""
    count(total, from_status, -minutes)
    count(total, to_status, minutes)


def star_level(verified_minutes: int, selected: bool, star_minutes: Sequence[int]) -> int:
    """The highest level whose threshold is met; 5★ also needs the selection (and 4★)."""
    level = 0
    for index, threshold in enumerate(star_minutes, start=1):
        if verified_minutes < threshold or (index == SELECTED_LEVEL and not selected):
            break
        level = index
    return level


def levels_reached(previous: int, level: int) -> list[int]:
    """Each level crossed upwards, in order (announced one by one); empty if none."""
    return list(range(previous + 1, level + 1))


# -- who decides ------------------------------------------------------------------------
class Caller(Protocol):
    """Who asks (the kit's Identity, or any value with these attributes)."""

    @property
    def subject(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def organisation_id(self) -> str | None: ...


def acts_for(caller: Caller, organisation_id: str | None, system_roles: Sequence[str]) -> bool:
    """Whether the caller acts for ``organisation_id`` (system roles act for any)."""
    return caller.role in system_roles or (
        caller.organisation_id is not None and caller.organisation_id == organisation_id
    )


def reads_volunteer(
    caller: Caller,
    volunteer_id: str,
    organisations: Iterable[str | None],
    district_readers: Sequence[str],
    organisation_staff: Sequence[str],
) -> bool:
    """Whether the caller may read a volunteer's certificates or national record: their
    own, anyone's for the district's readers, and for an organisation's staff those whose
    ``organisations`` (their own, or a certificate's issuer) include the caller's."""
    if caller.subject == volunteer_id or caller.role in district_readers:
        return True
    return (
        caller.role in organisation_staff
        and caller.organisation_id is not None
        and caller.organisation_id in set(organisations)
    )


def decision_problem(
    caller: Caller,
    volunteer_id: str,
    organisation_id: str | None,
    deciders: Sequence[str],
    system_roles: Sequence[str],
    on_the_ticket: bool = False,
    in_the_activity: bool = False,
) -> Problem | None:
    """Only a verifier of the recording organisation decides, never on their own hours,
    for a ticket's hours never someone named on that ticket, and for an activity's hours
    never its organiser or one of its attendees: someone else's word."""
    if caller.subject == volunteer_id:
        return Problem("nobody verifies their own hours", {"entry_id": ["is your own entry"]})
    if caller.role not in (*system_roles, *deciders) or not acts_for(caller, organisation_id, system_roles):
        return Problem(
            "only a verifier of the organisation that recorded these hours may decide on them",
            {"entry_id": ["recorded by another organisation"]},
        )
    if on_the_ticket:
        return Problem(
            "a verifier named on the ticket cannot verify its hours; another verifier must",
            {"entry_id": ["you are on this ticket"]},
        )
    if in_the_activity:
        return Problem(
            "the organiser and the attendees of an activity cannot verify its hours; another verifier must",
            {"entry_id": ["you organised or attended this activity"]},
        )
    return None


def pending_problem(status: str) -> Problem | None:
    """Only a pending entry is verified or rejected."""
    if status != "pending":
        return Problem(f"the entry is already {status}", {"entry_id": [f"is {status}, not pending"]})
    return None


# -- a ticket's events --------------------------------------------------------------------
def utc(instant: datetime) -> datetime:
    """``instant`` with a zone (a naive value is UTC: SQLite drops the zone)."""
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def after(first: datetime | None, second: datetime | None) -> bool:
    """Whether ``first`` is set and not before ``second`` (unset counts as long ago)."""
    return first is not None and (second is None or utc(first) >= utc(second))


@dataclass(frozen=True)
class TicketMoments:
    """When a ticket's confirmation, reopening and cancellation were last applied."""

    confirmed_at: datetime | None
    reopened_at: datetime | None
    cancelled_at: datetime | None


def on_resolution(ticket: TicketMoments, occurred_at: datetime) -> str | None:
    """What becomes of time recorded for a resolution at ``occurred_at``, given what was
    already handled for a later moment: ``"void"``, ``"verify"`` or ``None`` (pending)."""
    if after(ticket.cancelled_at, occurred_at):
        return "void"
    if after(ticket.confirmed_at, occurred_at) and not after(ticket.reopened_at, ticket.confirmed_at):
        return "verify"
    return None


def confirmation_applies(ticket: TicketMoments, occurred_at: datetime) -> bool:
    """A confirmation applies unless a later confirmation or reopening already did."""
    return not (after(ticket.confirmed_at, occurred_at) or after(ticket.reopened_at, occurred_at))


def confirmation_verifies(automatic: bool) -> bool:
    """The resident's own confirmation verifies a ticket's hours. An automatic one (the
    resident said nothing) is nobody's word: the hours stay recorded and pending, for a
    verifier of the volunteer's organisation who is not on the ticket."""
    return not automatic


RESIDENT_CONFIRMATION = "tickets:resident-confirmation"  # the actor a resident's confirmation verifies as


def minutes_by_volunteer(volunteers: Iterable[Mapping[str, object]]) -> dict[str, int]:
    """A resolution's minutes per volunteer (a volunteer named twice counts once, summed)."""
    out: dict[str, int] = {}
    for item in volunteers:
        volunteer_id, minutes = str(item["volunteer_id"]), item["minutes"]
        if not isinstance(minutes, int):
            raise TypeError("minutes must be an integer")  # the consumed schema already insists
        out[volunteer_id] = out.get(volunteer_id, 0) + minutes
    return out


def sheet_decision_problem(
    caller: Caller, organisation_id: str, deciders: Sequence[str], system_roles: Sequence[str]
) -> Problem | None:
    """Another organisation's sheet is refused before anything of its state is told."""
    if caller.role not in (*system_roles, *deciders) or not acts_for(caller, organisation_id, system_roles):
        return Problem(
            "only a verifier of the organisation that recorded this sheet may decide on it",
            {"sheet_id": ["recorded by another organisation"]},
        )
    return None
