"""The registry as this service needs it, kept from the registry's events (this service
never reads the registry's database). Each function is an idempotent upsert, so the
order of volunteer.updated after volunteer.registered does not matter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.hours.models import OrganisationView, TeamMember, TeamView, VolunteerView
from yilin.db import insert_ignoring_conflicts


def _volunteer(session: Session, volunteer_id: str) -> VolunteerView:
    volunteer = session.get(VolunteerView, volunteer_id)
    if volunteer is None:
        volunteer = VolunteerView(id=volunteer_id)
        session.add(volunteer)
    return volunteer


def volunteer_registered(session: Session, data: dict[str, Any]) -> None:
    volunteer = _volunteer(session, data["volunteer_id"])
    volunteer.number = data["volunteer_number"]
    volunteer.community_id = data["community_id"]
    volunteer.organisation_id = data.get("organisation_id")  # None in events from before it was announced
    volunteer.status = data["status"]


def volunteer_updated(session: Session, data: dict[str, Any]) -> None:
    volunteer = _volunteer(session, data["volunteer_id"])
    volunteer.community_id = data["community_id"]
    volunteer.status = data["status"]


def volunteer_deactivated(session: Session, data: dict[str, Any]) -> None:
    _volunteer(session, data["volunteer_id"]).status = data["status"]


def team_created(session: Session, data: dict[str, Any]) -> None:
    team = session.get(TeamView, data["team_id"]) or TeamView(id=data["team_id"])
    team.code, team.organisation_id, team.community_id = data["code"], data["organisation_id"], data["community_id"]
    session.add(team)


def member_joined(session: Session, data: dict[str, Any]) -> None:
    session.execute(
        insert_ignoring_conflicts(session, TeamMember.__table__).values(
            team_id=data["team_id"], volunteer_id=data["volunteer_id"]
        )
    )


def member_left(session: Session, data: dict[str, Any]) -> None:
    session.execute(
        delete(TeamMember).where(TeamMember.team_id == data["team_id"], TeamMember.volunteer_id == data["volunteer_id"])
    )


def organisation_registered(session: Session, data: dict[str, Any]) -> None:
    org = session.get(OrganisationView, data["organisation_id"]) or OrganisationView(id=data["organisation_id"])
    org.code, org.kind, org.community_id = data["code"], data["kind"], data.get("community_id")
    session.add(org)
