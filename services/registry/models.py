"""The registry's tables: places, organisations, teams, volunteers and service units."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yilin.rotation import EncryptedColumns
from yilin.tables import define_kit_tables, new_id, utcnow
from yilin.writes import define_rpc_requests


class Base(DeclarativeBase):
    pass


define_kit_tables(Base.metadata)
define_rpc_requests(Base.metadata)  # write RPCs' keys and answers (yilin.writes)


class Place(Base):
    """district → street|town → community|village → grid → compound (rules: places.py)."""

    __tablename__ = "places"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("places.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    community_id: Mapped[str | None] = mapped_column(ForeignKey("places.id"), index=True)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)  # skill codes a partner offers
    district_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("places.id"), index=True)
    professional: Mapped[bool] = mapped_column(Boolean, default=False)
    domain: Mapped[str | None] = mapped_column(String(40))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    district_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Coverage(Base):
    """A further community a team or a partner organisation declares it serves."""

    __tablename__ = "coverage"
    holder_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a team's or an organisation's id
    community_id: Mapped[str] = mapped_column(ForeignKey("places.id"), primary_key=True)
    __table_args__ = (Index("ix_coverage_community", "community_id", "holder_id"),)


class Cadre(Base):
    """A government party-member cadre (a volunteer or staff) who accompanies grids."""

    __tablename__ = "cadres"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    volunteer_id: Mapped[str | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CadreGrid(Base):
    __tablename__ = "cadre_grids"
    cadre_id: Mapped[str] = mapped_column(ForeignKey("cadres.id", ondelete="CASCADE"), primary_key=True)
    grid_id: Mapped[str] = mapped_column(ForeignKey("places.id"), primary_key=True, index=True)


class Volunteer(Base):
    __tablename__ = "volunteers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    id_number_encrypted: Mapped[str] = mapped_column(String(200))
    phone_masked: Mapped[str | None] = mapped_column(String(11))
    phone_encrypted: Mapped[str | None] = mapped_column(String(200))
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    community_id: Mapped[str] = mapped_column(ForeignKey("places.id"), index=True)
    # The organisation the volunteer belongs to, set when registered: its administrators
    # (and the district's operators) edit them; joining another organisation's team does not.
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class VolunteerSkill(Base):
    __tablename__ = "volunteer_skills"
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(40), primary_key=True)
    __table_args__ = (Index("ix_volunteer_skills_skill", "skill", "volunteer_id"),)


class Certification(Base):
    __tablename__ = "certifications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[str | None] = mapped_column(String(60))
    issued_on: Mapped[date | None] = mapped_column(Date)


class Membership(Base):
    __tablename__ = "memberships"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceUnit(Base):
    """A "1+1+1+N" unit: a sector, a social-work agency, a volunteer organisation and N volunteers."""

    __tablename__ = "service_units"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(ForeignKey("places.id"), index=True)
    sector_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    agency_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    volunteer_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UnitVolunteer(Base):
    __tablename__ = "unit_volunteers"
    unit_id: Mapped[str] = mapped_column(ForeignKey("service_units.id"), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id"), primary_key=True)


# What `yilin pii rotate` re-encrypts (the ID number's fingerprint is recomputed with it).
ENCRYPTED = (
    EncryptedColumns(
        "volunteers", ("id_number_encrypted", "phone_encrypted"), {"id_number_hash": "id_number_encrypted"}
    ),
)
