"""The activities service's tables: projects, activities, sign-ups, commendations, and
the verified minutes the hours service announced for each activity."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yilin.tables import define_kit_tables, new_id, utcnow
from yilin.writes import define_rpc_requests


class Base(DeclarativeBase):
    pass


define_kit_tables(Base.metadata)
define_rpc_requests(Base.metadata)  # write RPCs' keys and answers (yilin.writes)


class Project(Base):
    """A social-work agency leading volunteer organisations or teams, in one service
    domain, for named communities and beneficiary groups, over a period. Its outcome
    indicators are computed from its activities, never stored here."""

    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    agency_id: Mapped[str] = mapped_column(String(36), index=True)  # a registry organisation
    organisation_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # volunteer organisations
    team_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    service_domain: Mapped[str] = mapped_column(String(40))
    community_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    beneficiary_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    disbursement_id: Mapped[str | None] = mapped_column(String(36))  # a community-fund disbursement
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Activity(Base):
    """One activity an organisation publishes. Its row is the lock every sign-up and
    cancellation takes, so the confirmed count never passes the capacity."""

    __tablename__ = "activities"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(String(36), index=True)
    organiser: Mapped[str] = mapped_column(String(64))  # the subject who published it
    kind: Mapped[str] = mapped_column(String(16))  # service or training
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    grid_id: Mapped[str | None] = mapped_column(String(36), index=True)  # its micro-grid, when given
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    required_skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    open_to: Mapped[list[str]] = mapped_column(JSON, default=list)  # roles that may sign up
    state: Mapped[str] = mapped_column(String(12), default="published")  # published, closed
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    waiting: Mapped[int] = mapped_column(Integer, default=0)
    next_position: Mapped[int] = mapped_column(Integer, default=1)  # order of sign-ups
    beneficiary_visits: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str | None] = mapped_column(String(12))  # the current check-in code
    code_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (Index("ix_activities_community_starts", "community_id", "starts_at"),)


class SignUp(Base):
    """A volunteer's place on an activity: confirmed, waiting (in ``position`` order),
    cancelled or no_show; check-in and check-out times once they came."""

    __tablename__ = "sign_ups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(12))
    position: Mapped[int] = mapped_column(Integer)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[int | None] = mapped_column(Integer)  # attended, set on close
    signed_up_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    __table_args__ = (UniqueConstraint("activity_id", "volunteer_id", name="uq_sign_ups_activity_volunteer"),)


class Commendation(Base):
    """A commendation an organisation awarded a volunteer (the national record's block)."""

    __tablename__ = "commendations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volunteer_id: Mapped[str] = mapped_column(String(36), index=True)
    organisation_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    awarded_on: Mapped[date] = mapped_column(Date)
    awarding_body: Mapped[str] = mapped_column(String(200))
    awarded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VerifiedMinutes(Base):
    """Minutes the hours service verified for an activity's attendance (from its
    ``hours.verified`` events), one row per ledger entry."""

    __tablename__ = "verified_minutes"
    entry_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(36), index=True)
    volunteer_id: Mapped[str] = mapped_column(String(36))
    minutes: Mapped[int] = mapped_column(Integer)
