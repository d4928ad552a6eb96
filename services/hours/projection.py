"""The registry as this service needs it, kept from the registry's events (this service
never reads the registry's database). Each function is an idempotent upsert, so the
order of volunteer.updated after volunteer.registered does not matter."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.hours.store import ProjectionStore


def volunteer_registered(session: Session, data: dict[str, Any]) -> None:
    volunteer = ProjectionStore(session).volunteer(data["volunteer_id"])
    volunteer.number = data["volunteer_number"]
    volunteer.community_id = data["community_id"]
    volunteer.status = data["status"]


def volunteer_updated(session: Session, data: dict[str, Any]) -> None:
    volunteer = ProjectionStore(session).volunteer(data["volunteer_id"])
    volunteer.community_id = data["community_id"]
    volunteer.status = data["status"]


def volunteer_deactivated(session: Session, data: dict[str, Any]) -> None:
    ProjectionStore(session).volunteer(data["volunteer_id"]).status = data["status"]


def team_created(session: Session, data: dict[str, Any]) -> None:
    team = ProjectionStore(session).team(data["team_id"])
    team.code, team.organisation_id, team.community_id = data["code"], data["organisation_id"], data["community_id"]


def member_joined(session: Session, data: dict[str, Any]) -> None:
    ProjectionStore(session).add_member(data["team_id"], data["volunteer_id"])


def member_left(session: Session, data: dict[str, Any]) -> None:
    ProjectionStore(session).remove_member(data["team_id"], data["volunteer_id"])


def organisation_registered(session: Session, data: dict[str, Any]) -> None:
    org = ProjectionStore(session).organisation(data["organisation_id"])
    org.code, org.kind, org.community_id = data["code"], data["kind"], data.get("community_id")
