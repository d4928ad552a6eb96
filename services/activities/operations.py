"""The activities service's operations: publish, sign up and cancel (with the waiting
list), check in and out, no-shows, close (attendance to the hour ledger, training to the
national record), projects and commendations. Each loads through the store, asks the
rules, writes through the store and emits its events."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from services.activities import rules
from services.activities.models import Activity, Commendation, Project, SignUp
from services.activities.permissions import (
    AWARDERS,
    DEFAULT_OPEN_TO,
    ORGANISERS,
    PROJECT_LEADERS,
    SIGN_UP_FOR_OTHERS,
    SYSTEM_ROLES,
)
from services.activities.store import ActivityStore
from services.district import Problem
from yilin.db import UnitOfWork
from yilin.errors import Conflict, Forbidden, InvalidInput, YilinError
from yilin.identity import Identity


def _raise(problem: Problem | None, error: type[YilinError]) -> None:
    if problem is not None:
        raise error(problem.message, problem.details)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- projects ---------------------------------------------------------------------------------
def create_project(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> Project:
    agency_id = str(data["agency_id"])
    if not rules.acts_for(caller, agency_id, PROJECT_LEADERS, SYSTEM_ROLES):
        raise Forbidden("a project is set up by its agency", {"agency_id": ["not your organisation"]})
    project = ActivityStore(uow.session).add_project(
        name=data["name"],
        agency_id=agency_id,
        organisation_ids=sorted(str(o) for o in data["organisation_ids"]),
        team_ids=sorted(str(t) for t in data["team_ids"]),
        service_domain=data["service_domain"],
        community_ids=[str(c) for c in data["community_ids"]],
        beneficiary_groups=list(data["beneficiary_groups"]),
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        disbursement_id=str(data["disbursement_id"]) if data.get("disbursement_id") else None,
        created_by=caller.subject,
    )
    uow.emit(
        "project.created",
        {
            "project_id": project.id,
            **{
                k: getattr(project, k)
                for k in (
                    "agency_id",
                    "organisation_ids",
                    "team_ids",
                    "service_domain",
                    "community_ids",
                    "beneficiary_groups",
                    "starts_on",
                    "ends_on",
                    "disbursement_id",
                )
            },
        },
    )
    return project


# -- activities -------------------------------------------------------------------------------
def publish(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> Activity:
    store = ActivityStore(uow.session)
    organisation_id = str(data["organisation_id"])
    if not rules.acts_for(caller, organisation_id, ORGANISERS, SYSTEM_ROLES):
        raise Forbidden("you publish activities for your own organisation", {"organisation_id": ["not yours"]})
    _raise(rules.window_problem(data["starts_at"], data["ends_at"]), InvalidInput)
    project_id = str(data["project_id"]) if data.get("project_id") else None
    if project_id is not None:
        project = store.project(project_id)
        if organisation_id not in (project.agency_id, *project.organisation_ids):
            raise Forbidden(
                "only the project's agency and organisations publish under it", {"project_id": ["not your project"]}
            )
    activity = store.add_activity(
        project_id=project_id,
        organisation_id=organisation_id,
        organiser=caller.subject,
        kind=data["kind"],
        title=data["title"],
        place=data["place"],
        community_id=str(data["community_id"]),
        grid_id=str(data["grid_id"]) if data.get("grid_id") else None,
        starts_at=rules.utc(data["starts_at"]),
        ends_at=rules.utc(data["ends_at"]),
        capacity=data["capacity"],
        required_skills=list(data["required_skills"]),
        open_to=list(data.get("open_to") or DEFAULT_OPEN_TO),
        state="published",
        confirmed=0,
        waiting=0,
        next_position=1,
        beneficiary_visits=0,
    )
    uow.emit(
        "activity.published",
        {
            "activity_id": activity.id,
            **{
                k: getattr(activity, k)
                for k in (
                    "project_id",
                    "organisation_id",
                    "kind",
                    "community_id",
                    "starts_at",
                    "ends_at",
                    "capacity",
                    "required_skills",
                )
            },
        },
    )
    return activity


# Activity id -> its required skills. They are fixed once published, so a process reads
# them once per activity, not once per sign-up (a rush signs hundreds up for the same few
# activities, and the read cost a pooled connection, a round trip and a session). Bounded:
# emptied when full. The sign-up's transaction checks the locked row's own list anyway.
_REQUIRED: dict[str, list[str]] = {}
REQUIRED_REMEMBERED = 10_000


def known_required_skills(activity_id: Any) -> list[str] | None:
    """The activity's required skills if this process has read them before, else ``None``."""
    return _REQUIRED.get(str(activity_id))


def required_skills(session: Session, activity_id: Any) -> list[str]:
    """What the activity asks of a volunteer (fixed once published), read before the
    sign-up's transaction so the registry is asked only when it matters."""
    activity = ActivityStore(session).activity(activity_id)
    skills = list(activity.required_skills or [])
    if len(_REQUIRED) >= REQUIRED_REMEMBERED:
        _REQUIRED.clear()
    _REQUIRED[activity.id] = skills
    return list(skills)


def sign_up(uow: UnitOfWork, caller: Identity, activity_id: Any, volunteer_id: str, skills: list[str]) -> SignUp:
    """A place while one is free, else the end of the waiting list; under the activity's
    row lock. ``skills`` are the volunteer's, as the registry holds them."""
    store = ActivityStore(uow.session)
    activity = store.lock_activity(activity_id)
    _raise(rules.open_problem(activity.state), Conflict)
    _raise(
        rules.sign_up_problem(caller, volunteer_id, activity.open_to or DEFAULT_OPEN_TO, SIGN_UP_FOR_OTHERS), Forbidden
    )
    _raise(rules.skills_problem(activity.required_skills or [], skills), Conflict)
    status = rules.place_for(activity.confirmed, activity.capacity)
    position = activity.next_position
    # A first sign-up, the usual case, is one INSERT that stands aside for an existing row
    # (the row lock keeps anyone else from adding one meanwhile); only then is it read.
    row = store.add_sign_up(activity.id, volunteer_id, status, position)
    if row is None:
        existing = store.require_sign_up(activity.id, volunteer_id)
        if existing.status in rules.HELD:
            raise Conflict(f"already signed up ({existing.status})", {"volunteer_id": [f"already {existing.status}"]})
        row = existing  # signing up again after cancelling: back of the line
        row.status, row.position, row.signed_up_at = status, position, _now()
    activity.next_position += 1
    _count(activity, status, +1)
    uow.emit("activity.signed_up", {"activity_id": activity.id, "volunteer_id": volunteer_id, "status": status})
    return row


def _count(activity: Activity, status: str, delta: int) -> None:
    if status == "confirmed":
        activity.confirmed += delta
    elif status == "waiting":
        activity.waiting += delta


def cancel(uow: UnitOfWork, caller: Identity, activity_id: Any, volunteer_id: str) -> SignUp:
    """Withdraw; a freed place goes to the first on the waiting list."""
    store = ActivityStore(uow.session)
    activity = store.lock_activity(activity_id)
    _raise(rules.open_problem(activity.state), Conflict)
    if caller.subject != volunteer_id:
        _raise(
            rules.run_problem(caller, activity.organisation_id, activity.organiser, ORGANISERS, SYSTEM_ROLES), Forbidden
        )
    row = store.require_sign_up(activity.id, volunteer_id)
    if row.status not in rules.HELD:
        raise Conflict(f"the sign-up is already {row.status}", {"volunteer_id": [f"is {row.status}"]})
    freed = row.status == "confirmed"
    _count(activity, row.status, -1)
    row.status = "cancelled"
    promoted = None
    if freed:
        promoted = rules.first_in_line(store.sign_ups(activity.id, ("waiting",)))
        if isinstance(promoted, SignUp):
            _count(activity, "waiting", -1)
            promoted.status = "confirmed"
            _count(activity, "confirmed", +1)
    uow.emit(
        "activity.sign_up_cancelled",
        {
            "activity_id": activity.id,
            "volunteer_id": volunteer_id,
            "promoted_volunteer_id": promoted.volunteer_id if isinstance(promoted, SignUp) else None,
        },
    )
    return row


def _run(store: ActivityStore, caller: Identity, activity_id: Any) -> Activity:
    activity = store.lock_activity(activity_id)
    _raise(rules.run_problem(caller, activity.organisation_id, activity.organiser, ORGANISERS, SYSTEM_ROLES), Forbidden)
    _raise(rules.open_problem(activity.state), Conflict)
    return activity


def _confirmed(store: ActivityStore, activity: Activity, volunteer_id: str) -> SignUp:
    row = store.require_sign_up(activity.id, volunteer_id)
    if row.status != "confirmed":
        raise Conflict(f"the sign-up is {row.status}, not confirmed", {"volunteer_id": [f"is {row.status}"]})
    return row


def check_in(uow: UnitOfWork, caller: Identity, activity_id: Any, volunteer_id: str, at: datetime | None) -> SignUp:
    store = ActivityStore(uow.session)
    activity = _run(store, caller, activity_id)
    row = _confirmed(store, activity, volunteer_id)
    row.checked_in_at = rules.utc(at) if at else _now()
    uow.note("activity.checked_in", {"activity_id": activity.id, "volunteer_id": volunteer_id})
    return row


def check_out(uow: UnitOfWork, caller: Identity, activity_id: Any, volunteer_id: str, at: datetime | None) -> SignUp:
    store = ActivityStore(uow.session)
    activity = _run(store, caller, activity_id)
    row = _confirmed(store, activity, volunteer_id)
    when = rules.utc(at) if at else _now()
    if row.checked_in_at is None or when <= rules.aware(row.checked_in_at):
        raise Conflict("check-out comes after check-in", {"volunteer_id": ["not checked in before then"]})
    row.checked_out_at = when
    uow.note("activity.checked_out", {"activity_id": activity.id, "volunteer_id": volunteer_id})
    return row


def hand_out_code(uow: UnitOfWork, caller: Identity, activity_id: Any) -> Activity:
    store = ActivityStore(uow.session)
    activity = _run(store, caller, activity_id)
    activity.code, activity.code_expires_at = rules.new_code(), _now() + rules.CODE_LIFETIME
    uow.note("activity.code_issued", {"activity_id": activity.id})
    return activity


def check_in_with_code(uow: UnitOfWork, caller: Identity, activity_id: Any, volunteer_id: str, code: str) -> SignUp:
    """A volunteer checks themselves in with the code the organiser handed out."""
    store = ActivityStore(uow.session)
    activity = store.lock_activity(activity_id)
    _raise(rules.open_problem(activity.state), Conflict)
    if caller.subject != volunteer_id:
        raise Forbidden("a check-in code checks in only yourself", {"volunteer_id": ["not you"]})
    _raise(rules.code_problem(code, activity.code, activity.code_expires_at, _now()), Conflict)
    row = _confirmed(store, activity, volunteer_id)
    row.checked_in_at = row.checked_in_at or _now()
    uow.note("activity.checked_in", {"activity_id": activity.id, "volunteer_id": volunteer_id})
    return row


def mark_no_show(uow: UnitOfWork, caller: Identity, activity_id: Any, volunteer_id: str) -> SignUp:
    store = ActivityStore(uow.session)
    activity = _run(store, caller, activity_id)
    row = _confirmed(store, activity, volunteer_id)
    if row.checked_in_at is not None:
        raise Conflict("the volunteer checked in", {"volunteer_id": ["checked in"]})
    row.status = "no_show"
    uow.note("activity.no_show", {"activity_id": activity.id, "volunteer_id": volunteer_id})
    return row


def close(uow: UnitOfWork, caller: Identity, activity_id: Any, beneficiary_visits: int) -> Activity:
    """Final counts; each attendee's minutes go to the hour ledger (service) or the
    national record's training block (training). Confirmed volunteers who never checked
    in become no-shows."""
    store = ActivityStore(uow.session)
    activity = _run(store, caller, activity_id)
    attendees, no_shows = [], 0
    for row in store.sign_ups(activity.id, ("confirmed", "no_show")):
        span = (
            rules.attended(row.checked_in_at, row.checked_out_at, activity.starts_at, activity.ends_at)
            if row.status == "confirmed" and row.checked_in_at is not None
            else None
        )
        if span is None:
            row.status, no_shows = "no_show", no_shows + 1
            continue
        row.minutes = span.minutes
        attendees.append((row.volunteer_id, span))
    activity.state, activity.closed_at, activity.beneficiary_visits = "closed", _now(), beneficiary_visits
    activity.code = activity.code_expires_at = None
    attendees.sort(key=lambda a: a[0])
    uow.emit(
        "activity.closed",
        {
            "activity_id": activity.id,
            "project_id": activity.project_id,
            "organisation_id": activity.organisation_id,
            "kind": activity.kind,
            "community_id": activity.community_id,
            "attended": len(attendees),
            "no_shows": no_shows,
            "beneficiary_visits": beneficiary_visits,
            "closed_at": rules.aware(activity.closed_at),
        },
    )
    if activity.kind == "training":
        for volunteer_id, span in attendees:
            uow.emit(
                "training.completed",
                {
                    "activity_id": activity.id,
                    "volunteer_id": volunteer_id,
                    "organisation_id": activity.organisation_id,
                    "title": activity.title,
                    "completed_on": rules.local_day(activity.starts_at),
                    "minutes": span.minutes,
                },
            )
    elif attendees:
        uow.emit(
            "activity.attendance_recorded",
            {
                "activity_id": activity.id,
                "organisation_id": activity.organisation_id,
                "organiser_id": activity.organiser,
                "community_id": activity.community_id,
                "title": activity.title,
                "attendees": [
                    {"volunteer_id": v, "started_at": s.started_at, "ended_at": s.ended_at, "minutes": s.minutes}
                    for v, s in attendees
                ],
            },
        )
    return activity


# -- commendations ----------------------------------------------------------------------------
def award(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> Commendation:
    organisation_id = str(data["organisation_id"])
    if not rules.acts_for(caller, organisation_id, AWARDERS, SYSTEM_ROLES):
        raise Forbidden("an organisation awards in its own name", {"organisation_id": ["not yours"]})
    volunteer_id = str(data["volunteer_id"])
    if caller.subject == volunteer_id:
        raise Forbidden("nobody commends themselves", {"volunteer_id": ["is you"]})
    row = ActivityStore(uow.session).add_commendation(
        volunteer_id=volunteer_id,
        organisation_id=organisation_id,
        title=data["title"],
        level=data["level"],
        awarded_on=data["awarded_on"],
        awarding_body=data["awarding_body"],
        awarded_by=caller.subject,
    )
    uow.emit(
        "commendation.awarded",
        {
            "commendation_id": row.id,
            **{
                k: getattr(row, k)
                for k in ("volunteer_id", "organisation_id", "title", "level", "awarded_on", "awarding_body")
            },
        },
    )
    return row
