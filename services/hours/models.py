"""The hours service's tables: the append-only ledger of entries, the attendance sheets
they came from, per-volunteer running totals, certificates, and a projection of the
registry's volunteers, teams and organisations built from its events."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yilin.tables import define_kit_tables, new_id, utcnow
from yilin.writes import define_rpc_requests


class Base(DeclarativeBase):
    pass


define_kit_tables(Base.metadata)
define_rpc_requests(Base.metadata)  # write RPCs' keys and answers (yilin.writes)


# -- projection of the registry (never written by this service's API) ---------------
class VolunteerView(Base):
    __tablename__ = "volunteers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20))
    community_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # the registry's organisation of the volunteer (who of staff reads their hours); None
    # for none, or for a volunteer announced before the registry's events carried it
    organisation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")


class TeamView(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[str] = mapped_column(String(36), index=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class OrganisationView(Base):
    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[str | None] = mapped_column(String(36))


# -- the ledger ----------------------------------------------------------------------
class AttendanceSheet(Base):
    """One activity on one day as an organisation reported it."""

    __tablename__ = "attendance_sheets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(String(36), index=True)
    activity: Mapped[str] = mapped_column(String(200))
    served_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(36))
    content: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Entry(Base):
    """One credit of time to one volunteer. Minutes, day and interval are written once
    and never changed; a correction is a new entry pointing at the one it corrects, and
    every change of ``status`` is logged in ``entry_transitions``.

    status: pending → verified | rejected | void; verified → corrected (replaced by a
    correction) | pending (its ticket reopened) | void (its ticket cancelled);
    a correction starts as requested → verified | rejected."""

    __tablename__ = "entries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volunteer_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(16))  # ticket, activity, correction
    source_id: Mapped[str] = mapped_column(String(36), index=True)  # ticket or sheet id; corrected entry id
    organisation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    team_id: Mapped[str | None] = mapped_column(String(36))
    community_id: Mapped[str | None] = mapped_column(String(36))
    served_on: Mapped[date] = mapped_column(Date)
    start_minute: Mapped[int | None] = mapped_column(SmallInteger)  # minutes after local midnight
    end_minute: Mapped[int | None] = mapped_column(SmallInteger)
    minutes: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("entries.id"), index=True)
    episode: Mapped[str | None] = mapped_column(String(40))  # a ticket's resolved_at: one resolution
    rating: Mapped[int | None] = mapped_column(SmallInteger)  # the served resident's rating
    requested_by: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        # One volunteer's day (24 h and overlap checks) and period totals.
        Index("ix_entries_volunteer_served_on", "volunteer_id", "served_on"),
        # Leaderboards over a period.
        Index("ix_entries_served_on_status", "served_on", "status"),
        # Verified minutes by volunteer and day without the heap: team months and
        # community standings stay index-only as the ledger grows (migration 0005).
        Index(
            "ix_entries_verified_volunteer_served_on",
            "volunteer_id",
            "served_on",
            postgresql_include=["minutes"],
            postgresql_where=text("status = 'verified'"),
            sqlite_where=text("status = 'verified'"),
        ),
    )


class EntryTransition(Base):
    """The audit log of every status change of an entry (append-only)."""

    __tablename__ = "entry_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("entries.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(64))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketState(Base):
    """The latest confirmation, reopening and cancellation seen for a ticket. Its events
    arrive on separate queues, so a confirmation can be handled before the resolution
    it confirms; the resolution then finds it here."""

    __tablename__ = "ticket_states"
    ticket_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VolunteerTotal(Base):
    """Running totals per volunteer, updated in the same transaction as the ledger, so
    one volunteer's total never scans the ledger. The row is also the lock that
    serialises concurrent credits to one volunteer (24 h and overlap checks)."""

    __tablename__ = "volunteer_totals"
    volunteer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    verified_minutes: Mapped[int] = mapped_column(Integer, default=0, index=True)
    pending_minutes: Mapped[int] = mapped_column(Integer, default=0)
    star_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    selected: Mapped[bool] = mapped_column(Boolean, default=False)  # chosen by an organisation (needed for 5★)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StarChange(Base):
    """Each star level reached or lost (commendations in the volunteer's record)."""

    __tablename__ = "star_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volunteer_id: Mapped[str] = mapped_column(String(36), index=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    previous_level: Mapped[int] = mapped_column(SmallInteger)
    verified_minutes: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Certificate(Base):
    """A 志愿服务记录证明. ``content`` is the exact text the number's HMAC covers."""

    __tablename__ = "certificates"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    serial: Mapped[int] = mapped_column(Integer, unique=True)
    volunteer_id: Mapped[str] = mapped_column(String(36), index=True)
    organisation_id: Mapped[str] = mapped_column(String(36))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON)
    issued_on: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# -- from the activities service -------------------------------------------------------
class ActivitySource(Base):
    """An activity whose attendance was credited: its organiser and organisation, so that
    neither the organiser nor an attendee verifies its hours."""

    __tablename__ = "activity_sources"
    activity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(36))
    organiser_id: Mapped[str] = mapped_column(String(64))


class Training(Base):
    """A training session a volunteer attended (the national record's training block)."""

    __tablename__ = "trainings"
    activity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    organisation_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(200))
    completed_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)


class Commendation(Base):
    """A commendation an organisation awarded a volunteer (the record's commendation block)."""

    __tablename__ = "commendations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(36), index=True)
    organisation_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    awarded_on: Mapped[date] = mapped_column(Date)
    awarding_body: Mapped[str] = mapped_column(String(200))
